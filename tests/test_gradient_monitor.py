"""GradientMonitor: per-parameter gradient norms and update-to-weight ratios per epoch, and one
warning line naming the layer whose gradients vanish, explode or turn NaN."""

import io
import math

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset


def run(monitor, model=None, epochs=3, lr=0.1, extra=()):
    lamina.manual_seed(0)
    x = lamina.randn(8, 2)
    y = (x @ lamina.tensor([[1.0], [1.0]]) > 0.0) * 1.0  # an (N, 1) column, as BCELoss wants
    model = model or nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
    trainer = lamina.Trainer(model, nn.BCELoss(), optim.SGD(model.parameters(), lr=lr),
                             callbacks=[*extra, monitor], max_epochs=epochs)
    return trainer, trainer.fit(DataLoader(TensorDataset(x, y), batch_size=8))  # one step an epoch


class Before(lamina.Callback):
    """The first layer's weight and gradient just before each step."""

    def __init__(self):
        self.seen = []

    def on_before_optimizer_step(self, trainer, optimizer):
        weight = trainer.model[0].weight
        self.seen.append((weight.clone(), weight.grad.clone()))


def norm(tensor):
    return math.sqrt(sum(v * v for row in tensor.tolist() for v in row))


def test_gradient_norm_and_update_ratio_are_logged_per_epoch_per_parameter():
    before = Before()
    monitor = lamina.callbacks.GradientMonitor()
    trainer, history = run(monitor, extra=[before])
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(len(history[f"grad_norm/{n}"]) == 3 and len(history[f"update_ratio/{n}"]) == 3 for n in names)
    for epoch, (weight, grad) in enumerate(before.seen):
        assert math.isclose(history["grad_norm/0.weight"][epoch], norm(grad), rel_tol=1e-12)
        # plain SGD moves the weight by lr * grad
        assert math.isclose(history["update_ratio/0.weight"][epoch], 0.1 * norm(grad) / norm(weight), rel_tol=1e-9)
    assert math.isnan(history["update_ratio/0.bias"][0]) and history["update_ratio/0.bias"][1] > 0  # zeros at first


def test_vanishing_gradients_of_a_dead_layer_are_one_warning_line_naming_it():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
    state = model.state_dict()
    state["0.bias"] = [[-100.0] * 4] if len(state["0.bias"].shape) == 2 else [-100.0] * 4
    model.load_state_dict(state)  # every ReLU unit is off: nothing below the last layer learns
    stream = io.StringIO()
    run(lamina.callbacks.GradientMonitor(stream=stream), model=model, epochs=4)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "GradientMonitor: the gradients of 0.weight vanished (norm 0 < 1e-07) at epoch 0"
    assert [line.split()[4] for line in lines] == ["0.weight", "0.bias", "2.weight"]  # once each, not per epoch


def test_exploding_and_nan_gradients_are_named():
    stream = io.StringIO()
    run(lamina.callbacks.GradientMonitor(explode=1e-6, stream=stream), epochs=2)
    assert stream.getvalue().splitlines()[0].startswith("GradientMonitor: the gradients of 0.weight exploded (norm ")
    monitor = lamina.callbacks.GradientMonitor(stream=io.StringIO())
    monitor._check("3.weight", math.nan, 7)
    monitor._check("3.weight", math.nan, 8)
    assert monitor.stream.getvalue() == "GradientMonitor: the gradients of 3.weight turned NaN at epoch 7\n"
