"""Weight initialisers, chosen by name (`Linear(init="kaiming_normal")`).

Each fills a (fan_out, fan_in) weight tensor in place from lamina's seeded generator, as PyTorch's
`torch.nn.init.*_` functions do.
"""

import math

import lamina


def kaiming_normal(weight):
    """He normal, std = sqrt(2 / fan_in): the lesson's default for ReLU networks."""
    fan_out, fan_in = weight.shape
    weight.copy_(lamina.randn(fan_out, fan_in, std=math.sqrt(2.0 / fan_in)))


def zeros(weight):
    """All zeros."""
    weight.zero_()


@lamina.hookimpl
def lamina_register_initializers():
    return [kaiming_normal, zeros]
