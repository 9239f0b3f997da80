"""TensorDataset and DataLoader: mini-batches of rows, shuffled by lamina's seeded generator."""

from __future__ import annotations

import math
import operator
from array import array
from itertools import repeat

from lamina.backend import get_backend
from lamina.creation import tensor
from lamina.factories import stack
from lamina.errors import ShapeError
from lamina.rng import generator
from lamina.tensors import Tensor


class TensorDataset:
    """Tensors (or numpy arrays, taken in as lamina.tensor takes them) with the same number of rows;
    item i is the i-th row of each."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else tensor(t) for t in tensors)
        counts = [len(t) for t in tensors]
        if len(set(counts)) != 1:
            raise ShapeError(f"TensorDataset tensors must have the same number of rows, got {counts}")
        self.tensors = tensors

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def rows(self, indices):
        """Many items at once, as DataLoader asks for them: one row selection per tensor instead of
        one per item. A tensor of 2 or more dimensions stores one sample per row, so its rows are
        taken straight from storage; the loader's indices are in range by construction, which
        spares the checks `t[indices]` makes on every batch."""
        return tuple(map(_rows_of, self.tensors, repeat(indices)))  # map: no generator frame per batch


def _rows_of(t, indices):
    backend = t.backend
    if len(t.shape) > 1:
        return Tensor(backend.take_rows(t.data, indices), backend, (len(indices),) + t.shape[1:])
    # A (N,) tensor (class labels, say) is stored as one row: its items are the rows of that row's
    # transpose (a view, for numpy), and the rows taken, transposed back, are the batch's one row.
    taken = backend.take_rows(backend.transpose(t.data), indices)
    return Tensor(backend.transpose(taken), backend, (len(indices),))


_backend = operator.attrgetter("backend")


def shuffle(items, rng):
    """Shuffle the list `items` in place exactly as `rng.shuffle` does (Python's Fisher-Yates: the same
    draws and swaps, so the same order from the same generator state), with its call per item written
    inline: random.shuffle's helper call per item cost as much as the rest of a small model's step."""
    getrandbits = rng.getrandbits
    for i in reversed(range(1, len(items))):
        count = i + 1
        bits = count.bit_length()
        j = getrandbits(bits)
        while j >= count:  # an index below count, uniformly, by rejection
            j = getrandbits(bits)
        items[i], items[j] = items[j], items[i]


def _collate(items):
    """Stack per-item tuples into one tensor per field, as PyTorch's default collate does: tensors of
    one shape S make a (B, *S) tensor, numbers a (B,) one, lists of numbers a (B, n) one."""
    return tuple(stack(values) if isinstance(values[0], Tensor) else tensor(list(values)) for values in zip(*items))


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader(batch_size={batch_size!r}): batch_size must be an integer >= 1")
        if len(dataset) == 0:
            raise ValueError("DataLoader got an empty dataset")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        # Batches come on the backend selected when the loader was made, as every tensor made
        # then would, whichever backend built the dataset's tensors.
        self.backend = get_backend()

    def __len__(self):
        count = len(self.dataset)
        if self.drop_last:
            return count // self.batch_size
        return math.ceil(count / self.batch_size)

    def __iter__(self):
        backend = self.backend
        indices = list(range(len(self.dataset)))
        if self.shuffle:
            shuffle(indices, generator())
        # As machine integers: numpy reads a batch's slice of them at once, where it reads a list one
        # Python int at a time; iterated, they are still Python ints, for datasets indexed item by item.
        indices = array("q", indices)
        rows = getattr(self.dataset, "rows", None)  # a batch's items at once, where the dataset can
        for batch in range(len(self)):
            chosen = indices[batch * self.batch_size:(batch + 1) * self.batch_size]
            fields = rows(chosen) if rows is not None else _collate([self.dataset[i] for i in chosen])
            if not all(map(operator.is_, map(_backend, fields), repeat(backend))):  # (C-level: every batch)
                fields = tuple(t.to(backend) for t in fields)
            for t in fields:  # data, as in PyTorch: nothing upstream of it wants its gradient
                t.requires_grad = False
            yield fields
