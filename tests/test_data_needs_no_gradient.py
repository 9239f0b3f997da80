"""The batches a DataLoader yields are data (requires_grad False, as in PyTorch): the first layer of
a model skips their gradient, the largest product of its backward, and every parameter's gradient
stays exactly what it was."""

import pytest

import lamina
from lamina import nn
from lamina.data import DataLoader, TensorDataset


def first_batch(x, y):
    return next(iter(DataLoader(TensorDataset(x, y), batch_size=len(y))))


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)), (6, 4)),
    (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 3)), (6, 2, 4, 4)),
])
def test_a_loader_batch_skips_the_input_gradient_and_leaves_parameter_gradients_as_they_were(make, shape):
    x, y = lamina.randn(*shape), lamina.tensor([0, 1, 2, 0, 1, 2])
    xb, yb = first_batch(x, y)
    assert xb.requires_grad is False and yb.requires_grad is False

    def gradients(inputs):
        lamina.manual_seed(1)
        model, loss_fn = make(), nn.CrossEntropyLoss()
        loss_fn(model(inputs), yb)
        returned = model.backward(loss_fn.backward())
        return returned, [p.grad.tolist() for p in model.parameters()]

    skipped, from_data = gradients(xb)
    computed, from_tensor = gradients(x)  # a tensor built by hand: its gradient is computed, as before
    assert skipped is None and computed.shape == x.shape
    assert from_data == from_tensor

    xb.requires_grad = True  # asking for it, as x.requires_grad_() in PyTorch
    asked, _ = gradients(xb)
    assert asked.tolist() == computed.tolist()


def test_a_layer_after_an_identity_sees_the_data_too_and_its_gradients_stay_right():
    x, y = lamina.randn(4, 3), lamina.randn(4, 2)
    xb, yb = first_batch(x, y)

    def weight_gradient(inputs):
        lamina.manual_seed(2)
        model, loss_fn = nn.Sequential(nn.Identity(), nn.Linear(3, 2)), nn.MSELoss()
        loss_fn(model(inputs), yb)
        return model.backward(loss_fn.backward()), model[1].weight.grad.tolist()

    skipped, from_data = weight_gradient(xb)
    computed, from_tensor = weight_gradient(x)
    assert skipped is None and computed.shape == (4, 3) and from_data == from_tensor


@pytest.mark.usefixtures("backend")
def test_a_linear_layer_given_a_gradient_of_the_wrong_shape_names_it_and_the_shape_expected():
    layer = nn.Linear(4, 3)
    layer(lamina.randn(6, 4))
    with pytest.raises(lamina.ShapeError, match=r"gradient of shape \(5, 3\) .* expected .* \(6, 3\)"):
        layer.backward(lamina.randn(5, 3))  # 5 rows of gradient for a batch of 6


@pytest.mark.usefixtures("backend")
def test_class_labels_batch_as_the_rows_a_shuffled_loader_chose():
    lamina.manual_seed(3)
    x = lamina.tensor([[float(i), -float(i)] for i in range(11)])
    loader = DataLoader(TensorDataset(x, lamina.tensor([float(i % 4) for i in range(11)])), batch_size=4, shuffle=True)
    for xb, yb in loader:
        assert yb.shape == (len(xb),)
        assert yb.tolist() == [row[0] % 4 for row in xb.tolist()]
