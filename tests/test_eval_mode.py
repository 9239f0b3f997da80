"""Work nobody needs is skipped: a forward pass that is not followed by a backward (evaluation,
prediction) computes only its output."""

import lamina
from lamina import nn
from lamina.plugins.python_backend import PythonBackend


class CountingBackend(PythonBackend):
    """The default backend, counting the kernels a forward pass calls."""

    name = "counting python"

    def __init__(self):
        self.calls = []

    def __getattribute__(self, name):
        value = super().__getattribute__(name)
        if callable(value) and not name.startswith("_") and name not in ("shape", "from_rows", "to_rows"):
            super().__getattribute__("calls").append(name)
        return value


def test_relu_forward_is_one_kernel_and_its_backward_still_masks():
    counting = CountingBackend()
    x = lamina.tensor([[-1.0, 2.0, 0.0]]).to(counting)
    relu = nn.ReLU().eval()
    counting.calls.clear()
    assert relu(x).tolist() == [[0.0, 2.0, 0.0]]
    assert counting.calls == ["clamp"]
    relu.train()
    relu(x)
    assert relu.backward(lamina.tensor([[5.0, 5.0, 5.0]]).to(counting)).tolist() == [[0.0, 5.0, 0.0]]
