"""The JSON save format: documents as UTF-8 JSON text.

Python writes each float as its shortest repr, which reads back as the same float, so a reloaded
model predicts bit-identically. Reading refuses what a hostile file could use to exhaust the
machine: numbers written with absurdly many digits, and nesting deeper than the parser's limit.
"""

import json

import lamina
from lamina.errors import FileFormatError
from lamina.saving.formats import Format

# The longest float repr is 24 characters; anything much longer is not a number lamina wrote.
MAX_NUMBER_LENGTH = 40


def _number(parse):
    def checked(text):
        if len(text) > MAX_NUMBER_LENGTH:
            raise FileFormatError(
                f"a number written with {len(text)} characters ({text[:20]}...) is not one lamina writes"
            )
        return parse(text)

    return checked


class JSON(Format):
    """JSON text (.json): plain, portable, exact for float64."""

    extensions = (".json",)

    def encode(self, document):
        return json.dumps(document, separators=(",", ":")).encode("utf-8")

    def decode(self, data):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FileFormatError(
                f"not UTF-8 text (corrupted?): byte {error.start} is invalid"
            ) from None
        try:
            return json.loads(text, parse_int=_number(int), parse_float=_number(float))
        except json.JSONDecodeError as error:
            ends_early = error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated")
            where = "the text ends before the JSON does (truncated?)" if ends_early else "corrupted?"
            raise FileFormatError(
                f"not valid JSON at line {error.lineno} column {error.colno}: {error.msg} ({where})"
            ) from None
        except RecursionError:
            raise FileFormatError("nested too deeply to be a lamina file") from None


@lamina.hookimpl
def lamina_register_formats():
    return [lamina.Record("json", JSON, JSON.__doc__)]
