"""Weight initialisers, chosen by name (`Linear(init="xavier_uniform")`) or called as
`lamina.nn.init.<name>_(tensor, ...)`.

Each fills a (fan_out, fan_in) weight tensor in place from lamina's seeded generator and returns
it, with the arguments and defaults of PyTorch's `torch.nn.init.<name>_`. The scaled ones choose a
standard deviation (or a uniform bound, sqrt(3) standard deviations) that keeps activations and
gradients at a steady size from layer to layer.
"""

import math
import numbers

import lamina
from lamina.nn.init import calculate_correct_fan, calculate_fan_in_and_fan_out, calculate_gain


def _number(function, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{function}: {name} must be a number, got {value!r}")
    return float(value)


def _fill_normal(tensor, mean, std):
    return tensor.copy_(lamina.randn(*tensor.shape, mean=mean, std=std))


def _fill_uniform(tensor, low, high):
    return tensor.copy_(lamina.rand(*tensor.shape, low=low, high=high))


def zeros(tensor):
    """All zeros."""
    return tensor.zero_()


def ones(tensor):
    """All ones."""
    return tensor.copy_(1.0)


def constant(tensor, val):
    """Every element set to val."""
    return tensor.copy_(_number("constant_", "val", val))


def normal(tensor, mean=0.0, std=1.0):
    """Samples from N(mean, std^2)."""
    std = _number("normal_", "std", std)
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill_normal(tensor, _number("normal_", "mean", mean), std)


def uniform(tensor, a=0.0, b=1.0):
    """Samples from U(a, b)."""
    a, b = _number("uniform_", "a", a), _number("uniform_", "b", b)
    if a > b:
        raise ValueError(f"uniform_: a must be <= b, got a={a}, b={b}")
    return _fill_uniform(tensor, a, b)


def xavier_uniform(tensor, gain=1.0):
    """Glorot: U(-bound, bound), bound = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = _number("xavier_uniform_", "gain", gain) * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _fill_uniform(tensor, -bound, bound)


def xavier_normal(tensor, gain=1.0):
    """Glorot: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = _number("xavier_normal_", "gain", gain) * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill_normal(tensor, 0.0, std)


def _kaiming_std(tensor, a, mode, nonlinearity):
    return calculate_gain(nonlinearity, a) / math.sqrt(calculate_correct_fan(tensor, mode))


def kaiming_uniform(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: U(-bound, bound), bound = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return _fill_uniform(tensor, -bound, bound)


def kaiming_normal(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: N(0, std^2), std = gain / sqrt(fan); the default, sqrt(2 / fan_in), suits ReLU networks."""
    return _fill_normal(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def lecun_uniform(tensor):
    """LeCun: U(-bound, bound), bound = sqrt(3 / fan_in) (Kaiming with gain 1)."""
    return kaiming_uniform(tensor, nonlinearity="linear")


def lecun_normal(tensor):
    """LeCun: N(0, 1 / fan_in) (Kaiming with gain 1), the initialisation SELU networks expect."""
    return kaiming_normal(tensor, nonlinearity="linear")


def orthonormalise(vectors):
    """Gram-Schmidt: orthonormal vectors spanning the first k of `vectors`, for each k.

    The same result as a QR decomposition whose R has a positive diagonal. Each vector is
    orthogonalised twice against the basis so far ("twice is enough"), which keeps the basis
    orthogonal to rounding error even when the inputs are nearly dependent.
    """
    basis = []
    for vector in vectors:
        v = list(vector)
        for _ in range(2):
            for q in basis:
                projection = math.fsum(a * b for a, b in zip(q, v))
                v = [a - projection * b for a, b in zip(v, q)]
        norm = math.sqrt(math.fsum(a * a for a in v))
        if norm == 0.0:
            raise ValueError("orthogonal_: the random sample was linearly dependent; draw again")
        basis.append([a / norm for a in v])
    return basis


def orthogonal(tensor, gain=1.0):
    """A (semi-)orthogonal matrix times gain: orthonormal rows when rows <= columns (W W^T = I),
    orthonormal columns otherwise (W^T W = I), from a Gaussian sample as PyTorch draws it."""
    gain = _number("orthogonal_", "gain", gain)
    rows, cols = tensor.shape
    sample = lamina.randn(rows, cols).tolist()
    if rows <= cols:
        q = orthonormalise(sample)
    else:
        q = [list(column) for column in zip(*orthonormalise(zip(*sample)))]
    return tensor.copy_(lamina.tensor(q) * gain)


@lamina.hookimpl
def lamina_register_initializers():
    return [
        zeros, ones, constant, normal, uniform, xavier_uniform, xavier_normal,
        kaiming_uniform, kaiming_normal, lecun_uniform, lecun_normal, orthogonal,
    ]
