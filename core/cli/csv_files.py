"""Rows of numbers in CSV files: what `lamina evaluate` and `lamina predict` read and write."""

from __future__ import annotations

import csv

from lamina.errors import ConfigError
from lamina.tensors import Tensor, tensor


class CSVError(ConfigError):
    """A CSV file that is not a table of numbers."""


def read_csv(path) -> Tensor:
    """The numbers in a CSV file as a Tensor, one row per line; a first line of column names
    (anything that is not all numbers) is skipped."""
    with open(path, newline="") as stream:
        lines = [(number, row) for number, row in enumerate(csv.reader(stream), start=1) if row]
    if lines and not all(_is_number(cell) for cell in lines[0][1]):
        lines = lines[1:]  # a header
    if not lines:
        raise CSVError(f"{path}: no rows of numbers")
    width = len(lines[0][1])
    rows = []
    for number, row in lines:
        if len(row) != width:
            raise CSVError(f"{path} line {number}: {len(row)} columns, but the first row has {width}")
        for column, cell in enumerate(row, start=1):
            if not _is_number(cell):
                raise CSVError(
                    f"{path} line {number}, column {column}: {cell.strip()!r} is not a number"
                )
        rows.append([float(cell) for cell in row])
    return tensor(rows)


def write_csv(values: Tensor, stream, header=None) -> None:
    """One line per row; floats as their shortest exact repr, so nothing is lost."""
    writer = csv.writer(stream, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows([repr(v) for v in row] for row in values.tolist())


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True
