"""NDJSON parser: one JSON object per line."""

from collections.abc import Iterator

import orjson

from ingestion.formats import UTF8_BOM
from ingestion.parsers import Row

# A line the JSON-array converter writes in place of what it could not read; see chunking.write_plain_copy.
CONVERSION_ERROR_PREFIX = b"#ingestion-error: "

_JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def not_an_object_reason(value: object) -> str:
    return f"Not a JSON object (got {_JSON_TYPE_NAMES.get(type(value), type(value).__name__)})"


def _invalid_line_reason(line: bytes, error: orjson.JSONDecodeError) -> str:
    if line.startswith(CONVERSION_ERROR_PREFIX):
        return line[len(CONVERSION_ERROR_PREFIX) :].decode("utf-8", "replace")
    return f"Invalid JSON: {error.msg} at column {error.colno}"


def parse_chunk(data: bytes, encoding: str, first_line: int) -> Iterator[Row]:
    """Rows for a line-aligned slice of an NDJSON file whose first line is number `first_line`."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    # orjson reads UTF-8 bytes directly; other encodings go through str.
    native = encoding in ("utf-8", "utf-8-sig")
    loads = orjson.loads
    for number, line in enumerate(lines, start=first_line):
        if not line or line.isspace():
            # Blank lines are counted, not parsed: a file of millions of them stays cheap.
            yield number, None, None, ""
            continue
        raw = line.decode("utf-8", "replace") if native else line.decode(encoding, "replace")
        try:
            value = loads(line if native else raw)
        except orjson.JSONDecodeError as error:
            yield number, None, _invalid_line_reason(line, error), raw
            continue
        if type(value) is dict:
            yield number, value, None, raw
        else:
            yield number, None, not_an_object_reason(value), raw
