"""JSON array parser: streams the elements of one top-level array in constant memory."""

import codecs
import json
from collections.abc import Iterator
from typing import IO

import ijson
import orjson

from ingestion.parsers import Row
from ingestion.parsers.ndjson import not_an_object_reason

_BLOCK = 2**20


class _Utf8Stream:
    """Re-encodes a stream to UTF-8 (without BOM), the only input the yajl parser takes."""

    def __init__(self, stream: IO[bytes], encoding: str) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")

    def read(self, size: int = _BLOCK) -> bytes:
        if size == 0:
            # ijson probes with read(0) to tell bytes streams from text streams.
            return b""
        # A short read can end inside a character and decode to nothing; only end of input may return b"".
        while True:
            block = self._stream.read(size if size and size > 0 else _BLOCK)
            text = self._decoder.decode(block, final=not block)
            if text or not block:
                return text.encode("utf-8")


def _dumps(element: object) -> str:
    try:
        return orjson.dumps(element).decode()
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits: keep the element readable; the NDJSON step will explain it.
        return json.dumps(element, ensure_ascii=False)


def iter_elements(stream: IO[bytes], encoding: str = "utf-8") -> Iterator[Row]:
    """Rows numbered by element index (from 1); a syntax error ends the stream with one error row."""
    if encoding != "utf-8":
        stream = _Utf8Stream(stream, encoding)
    index = 0
    try:
        for index, element in enumerate(ijson.items(stream, "item", use_float=True), start=1):
            raw = _dumps(element)
            if type(element) is dict:
                yield index, element, None, raw
            else:
                yield index, None, not_an_object_reason(element), raw
    except (ijson.JSONError, ValueError) as error:
        # yajl appends a multi-line picture of the spot; the first line is the sentence.
        message = (str(error).strip().splitlines() or ["unreadable input"])[0]
        yield index + 1, None, f"Invalid JSON array at element {index + 1}: {message}", ""
