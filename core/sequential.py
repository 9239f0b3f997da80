"""Sequential: forward through the layers left to right, backward right to left."""

from __future__ import annotations

from .errors import ShapeError
from .module import Module


class Sequential(Module):
    def __init__(self, *layers):
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential argument {index} is {type(layer).__name__}, expected a Module"
                )
        self.layers = list(layers)

    def named_children(self):
        return ((str(index), layer) for index, layer in enumerate(self.layers))

    def forward(self, x):
        for index, layer in enumerate(self.layers):
            try:
                x = layer(x)
            except ShapeError as error:
                raise ShapeError(f"layer {index} ({type(layer).__name__}): {error}") from None
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def append(self, layer):
        self.layers.append(layer)
        return self

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]
