"""A loss's gradient knows the prediction it is the gradient of, and Sequential.backward refuses it
once the model has run forward again: layers keep only their last forward's inputs, so the
gradients would silently mix two batches."""

import pytest

import lamina
from lamina import nn, optim


def make_model():
    lamina.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))


@pytest.mark.parametrize("loss_fn, target", [
    (nn.CrossEntropyLoss(), lambda: lamina.tensor([0, 2, 1, 1])),
    (nn.MSELoss(), lambda: lamina.zeros(4, 3)),
    (nn.CrossEntropyLoss(reduction="none"), lambda: lamina.tensor([0, 2, 1, 1])),
])
def test_a_forward_between_the_loss_and_backward_is_one_clear_error(loss_fn, target):
    model = make_model()
    x, x_val = lamina.randn(4, 2), lamina.randn(4, 2)  # the same batch size: no shape error would show it
    loss_fn(model(x), target())
    model(x_val)  # evaluation in the middle of the step
    grad = loss_fn.backward(lamina.ones(4) if loss_fn.reduction == "none" else None)
    with pytest.raises(lamina.LaminaError, match=r"^the gradient given to backward is the loss's for an earlier "
                                                  r"output of this model, which has run forward since"):
        model.backward(grad)


def test_evaluation_after_the_step_is_the_usual_order_and_changes_nothing():
    def train(evaluate):
        model, loss_fn = make_model(), nn.CrossEntropyLoss()
        opt = optim.SGD(model.parameters(), lr=0.1)
        x, y, x_val = lamina.randn(4, 2), lamina.tensor([0, 2, 1, 1]), lamina.randn(5, 2)
        for _ in range(3):
            loss_fn(model(x), y)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
            if evaluate:
                model(x_val)  # evaluate: the next step's loss sees a forward of its own
        return [p.tolist() for p in model.parameters()]

    assert train(evaluate=True) == train(evaluate=False)


def test_the_refused_gradient_would_have_been_wrong():
    """What the check prevents: the backward of the later forward gives other gradients."""
    model, loss_fn = make_model(), nn.MSELoss()
    x, x_val, y = lamina.randn(4, 2), lamina.randn(4, 2), lamina.zeros(4, 3)
    loss_fn(model(x), y)
    grad = loss_fn.backward()
    model.backward(grad)
    right = model[0].weight.grad.tolist()
    model.zero_grad()
    model(x_val)
    model.backward(grad * 1.0)  # a copy carries no origin: the mixed backward lamina refuses above
    assert model[0].weight.grad.tolist() != right
