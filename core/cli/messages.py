"""One line for the terminal: how every error a user's input can cause is printed.

Text from a file (a provider string, a config key, a path) reaches the terminal; control
characters in it could move the cursor, recolour the screen or forge a line ("loaded OK").
`one_line` shows them escaped instead, and never lets a message span lines.
"""

from __future__ import annotations

import csv

from lamina.errors import LaminaError

# What a user's input can raise from anywhere below a command: bad values and files (ValueError,
# OSError, LookupError), numbers past what Python can hold (ArithmeticError), structures too deep
# (RecursionError) or too large (MemoryError), a malformed CSV, an iterator ended early.
USER_ERRORS = (LaminaError, ValueError, TypeError, LookupError, ArithmeticError, OSError,
               RecursionError, MemoryError, csv.Error, StopIteration, EOFError)

LONGEST = 2000  # characters; a message quoting a huge value is cut, not printed whole


def one_line(error) -> str:
    """`error` (an exception or a string) as one printable line, control characters escaped."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    elif isinstance(error, RecursionError):
        text = "the input is nested too deeply to read"
    elif isinstance(error, MemoryError):
        text = "the input asks for more memory than this machine has"
    elif isinstance(error, BaseException):
        text = str(error) or type(error).__name__
    else:
        text = str(error)
    text = printable(" ".join(text.split("\n")))  # every other control character is shown escaped
    return text if len(text) <= LONGEST else text[:LONGEST] + "..."


def printable(text) -> str:
    """A value from a file, shown in a table or listing: control characters escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))
