"""`lamina jsonl LOGFILE`: a log written by JSONLinesLogger, printed as a table, one row per epoch."""

import json
import sys

from lamina.errors import LaminaError

EXAMPLE_LINE = '{"epoch": 0, "loss": 0.69}'
MISSING = "-"  # a key some epochs lack, e.g. validation values logged every few epochs


class LogLineError(LaminaError, ValueError):
    """A line of a log file that is not what JSONLinesLogger writes."""


def configure(parser):
    parser.add_argument("logfile", help="a file written by JSONLinesLogger: one JSON object per epoch")
    return run


def run(args):
    epochs = read_log(args.logfile)
    if not epochs:
        print(f"{args.logfile}: no epochs logged yet", file=sys.stderr)
        return 0
    print(table(epochs))


def read_log(path) -> list[dict]:
    """Each non-blank line's object; a line that is not one names the file and its number."""
    epochs = []
    with open(path, "rb") as lines:  # decoded line by line, so that bad bytes have a line number
        for number, line in enumerate(lines, start=1):
            where = f"{path}, line {number}"
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise LogLineError(f"{where}: not UTF-8 text ({error.reason}); "
                                   f"expected one JSON object per line, like {EXAMPLE_LINE}") from None
            if text.strip():
                epochs.append(parse_line(text.rstrip(), where))
    return epochs


def parse_line(line, where) -> dict:
    try:
        values = json.loads(line)
    except json.JSONDecodeError as error:
        raise LogLineError(f"{where}: not JSON ({error.msg} at column {error.colno}); "
                           f"expected one JSON object per line, like {EXAMPLE_LINE}") from None
    if not isinstance(values, dict):
        raise LogLineError(f"{where}: expected a JSON object, like {EXAMPLE_LINE}, got {shorten(line)}")
    epoch = values.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        got = "no \"epoch\"" if "epoch" not in values else f"\"epoch\": {json.dumps(epoch)}"
        raise LogLineError(f"{where}: expected an integer \"epoch\", like {EXAMPLE_LINE}, got {got}")
    return values


def table(epochs: list[dict]) -> str:
    """Right-aligned columns: epoch, then every other key in the order the log first shows it."""
    columns = ["epoch"]
    for values in epochs:
        for key in values:
            if key not in columns:
                columns.append(key)
    rows = [columns] + [[cell(values[key]) if key in values else MISSING for key in columns] for values in epochs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join("  ".join(text.rjust(width) for text, width in zip(row, widths)) for row in rows)


def cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    return json.dumps(value)  # integers, and whatever else a logger chose to write


def shorten(line, limit=40):
    line = line.strip()
    return line if len(line) <= limit else line[: limit - 3] + "..."
