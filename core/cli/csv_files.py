"""Rows of numbers in CSV files: what `lamina evaluate` and `lamina predict` read and write."""

from __future__ import annotations

import csv
import os
import stat

from lamina.errors import ConfigError
from lamina.creation import tensor
from lamina.tensors import Tensor

# Bounds on what is read before anything is allocated for it: a CSV of numbers this large is a
# mistake (or /dev/zero), and one cell longer than a number can be is not a number.
MAX_CSV_BYTES = 1 << 28
csv.field_size_limit(1 << 16)


class CSVError(ConfigError):
    """A CSV file that is not a table of numbers."""


def read_csv(path, header=None) -> Tensor:
    """The numbers in a CSV file as a Tensor, one row per line.

    header=True skips the first line, header=False reads it as data, and header=None (the
    default) skips it only if none of its cells is a number: a first row with one mistyped cell
    is data, refused with its line number, never silently dropped. A UTF-8 byte-order mark (as
    Excel writes) is not part of the first cell.
    """
    lines = [(number, row) for number, row in _rows(path) if row]
    if lines and (header or header is None and not any(_is_number(cell) for cell in lines[0][1])):
        lines = lines[1:]
    if not lines:
        raise CSVError(f"{path}: no rows of numbers")
    width = len(lines[0][1])
    rows = []
    for number, row in lines:
        if len(row) != width:
            raise CSVError(f"{path} line {number}: {len(row)} columns, but the first row has {width}")
        for column, cell in enumerate(row, start=1):
            if not _is_number(cell):
                hint = " (use --header if it is a line of column names)" if number == 1 and header is not True else ""
                raise CSVError(f"{path} line {number}, column {column}: {cell.strip()[:40]!r} is not a number{hint}")
        rows.append([float(cell) for cell in row])
    return tensor(rows)


def _rows(path):
    # O_NONBLOCK: a FIFO with no writer must not hang the open; only regular files are read.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(descriptor, encoding="utf-8-sig", newline="") as stream:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise CSVError(f"{path}: not a regular file")
        if info.st_size > MAX_CSV_BYTES:
            raise CSVError(f"{path}: {info.st_size} bytes is more than the {MAX_CSV_BYTES} a CSV of inputs may have")
        reader = csv.reader(stream)
        try:
            yield from enumerate(reader, start=1)
        except csv.Error as error:
            raise CSVError(f"{path} line {reader.line_num}: {error}") from None
        except UnicodeDecodeError:
            raise CSVError(f"{path} line {reader.line_num + 1}: not UTF-8 text") from None


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
