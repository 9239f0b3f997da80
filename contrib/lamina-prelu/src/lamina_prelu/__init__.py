"""PReLU: max(0, x) + a * min(0, x), with the slope `a` learned (PyTorch's nn.PReLU)."""

import lamina
from lamina.component import at_least, component, field, integer, number
from lamina.plugin_system.kinds import Example
from lamina.errors import ShapeError
from lamina.nn import Module, Parameter

__version__ = "0.1.0"


@component
class PReLU(Module):
    """ReLU with a learned slope for negative inputs: one slope, or one per feature."""

    num_parameters: int = field(default=1, validator=[integer, at_least(1)])
    init: float = field(default=0.25, validator=number)

    conformance_examples = [Example(), Example(kwargs={"num_parameters": 3})]

    def __attrs_post_init__(self):
        self.weight = Parameter(lamina.full((self.num_parameters,), self.init))

    def forward(self, x):
        rows, features = len(x), x.shape[-1]
        if self.num_parameters != 1 and (x.dim() != 2 or features != self.num_parameters):
            raise ShapeError(
                f"PReLU(num_parameters={self.num_parameters}) got input with {features} features "
                f"(batch of {rows})"
            )
        self.x = x
        self.positive = x > 0.0  # 1.0 where x > 0, else 0.0
        self.negative_part = x * (1.0 - self.positive)  # min(0, x)
        return x * self.positive + self.negative_part * self.weight

    def backward(self, grad):
        # dy/dx is 1 where x > 0 and a elsewhere; dy/da is min(0, x), summed over the batch
        # (and over the features too, when one slope serves them all).
        grad_weight = (grad * self.negative_part).sum(0)
        if self.num_parameters == 1:
            grad_weight = grad_weight.sum(0, keepdim=True)
        self.weight.accumulate_grad(grad_weight)
        return grad * (self.positive + (1.0 - self.positive) * self.weight)


@lamina.hookimpl
def lamina_register_modules():
    return [PReLU]
