"""Cutting a plain upload into record-aligned byte ranges, counting its records, and making it plain."""

import bisect
import gzip
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO

from ingestion.formats import UTF8_BOM, FileFormat
from ingestion.parsers.json_array import iter_elements
from ingestion.parsers.ndjson import CONVERSION_ERROR_PREFIX

_BLOCK = 4 * 2**20
_QUOTE = b'"'
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Chunk:
    """Bytes [start, end) of the plain file; `first_line` is the physical line `start` is on (1-based)."""

    number: int
    start: int
    end: int
    first_line: int

    def to_dict(self) -> dict:
        return {"number": self.number, "start": self.start, "end": self.end, "first_line": self.first_line}

    @classmethod
    def from_dict(cls, data: dict) -> "Chunk":
        return cls(number=data["number"], start=data["start"], end=data["end"], first_line=data["first_line"])


def _line_aligned_blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """Large blocks that end just after a newline (the last one may not); memory is one block plus one line."""
    carry = b""
    while block := stream.read(_BLOCK):
        if carry:
            block = carry + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            carry = block
            continue
        carry = block[cut:]
        yield block[:cut] if carry else block
    if carry:
        yield carry


def _ends_in_quotes(line: bytes, in_quotes: bool, delimiter: int, start: int = 0) -> bool:
    """Whether a CSV record is still inside a quoted field at the end of this physical line.

    Mirrors the stdlib csv reader: a quote opens a field only at the field's start, and a doubled
    quote inside a quoted field is a literal quote.
    """
    position = start
    while True:
        if in_quotes:
            found = line.find(_QUOTE, position)
            if found < 0:
                return True
            if line[found + 1 : found + 2] == _QUOTE:
                position = found + 2
                continue
            in_quotes = False
            position = found + 1
        else:
            found = line.find(_QUOTE, position)
            if found < 0:
                return False
            if found == start or line[found - 1] == delimiter:
                in_quotes = True
            position = found + 1


class _CsvRecordEnds:
    """Tracks quoting across blocks and lists where records end inside one line-aligned block."""

    def __init__(self, delimiter: str) -> None:
        self._delimiter = ord(delimiter)
        self._in_quotes = False
        self._first_block = True

    @property
    def in_quotes(self) -> bool:
        return self._in_quotes

    def record_ends(self, block: bytes) -> list[int] | None:
        """Offsets just after each record-ending newline; None when every newline ends a record."""
        start = len(UTF8_BOM) if self._first_block and block.startswith(UTF8_BOM) else 0
        self._first_block = False
        if not self._in_quotes and _QUOTE not in block:
            return None
        ends: list[int] = []
        offset = 0
        in_quotes = self._in_quotes
        for line in block.split(b"\n"):
            if in_quotes or _QUOTE in line:
                in_quotes = _ends_in_quotes(line, in_quotes, self._delimiter, start)
            start = 0
            offset += len(line) + 1
            if not in_quotes and offset <= len(block):
                ends.append(offset)
        self._in_quotes = in_quotes
        return ends


def _blocks(stream: IO[bytes], tracker: _CsvRecordEnds | None) -> Iterator[tuple[bytes, list[int] | None]]:
    for block in _line_aligned_blocks(stream):
        yield block, tracker.record_ends(block) if tracker else None


def _tracker(fmt: FileFormat) -> _CsvRecordEnds | None:
    return _CsvRecordEnds(fmt.delimiter or ",") if fmt.kind == "csv" else None


def _first_end_after(block: bytes, ends: list[int] | None, wanted: int) -> int | None:
    """The first record end at or after `wanted` (a block offset >= 1)."""
    if ends is None:
        found = block.find(b"\n", wanted - 1)
        return found + 1 if found >= 0 else None
    index = bisect.bisect_left(ends, wanted)
    return ends[index] if index < len(ends) else None


def _require_plain(fmt: FileFormat) -> None:
    if fmt.kind not in ("csv", "ndjson", "access_log") or fmt.compressed:
        raise ValueError(
            f"needs a plain CSV, NDJSON or access-log file, not {'compressed ' if fmt.compressed else ''}{fmt.kind}"
        )


def plan_chunks(stream: IO[bytes], fmt: FileFormat, target_bytes: int = 8 * 2**20) -> list[Chunk]:
    """Record-aligned slices of about `target_bytes` of a plain CSV, NDJSON or access-log file, read from its start."""
    _require_plain(fmt)
    chunks: list[Chunk] = []
    chunk_start, chunk_line = 0, 1
    block_offset, line_at_block = 0, 1
    for block, ends in _blocks(stream, _tracker(fmt)):
        position, line_at_position = 0, line_at_block
        while (wanted := chunk_start + target_bytes - block_offset) <= len(block):
            end = _first_end_after(block, ends, max(wanted, position + 1))
            if end is None:
                break
            chunks.append(Chunk(len(chunks), chunk_start, block_offset + end, chunk_line))
            line_at_position += block.count(b"\n", position, end)
            chunk_start, chunk_line, position = block_offset + end, line_at_position, end
        line_at_block += block.count(b"\n")
        block_offset += len(block)
    if chunk_start < block_offset:
        chunks.append(Chunk(len(chunks), chunk_start, block_offset, chunk_line))
    return chunks


def _count_lines_or_records(stream: IO[bytes], fmt: FileFormat) -> int:
    tracker = _tracker(fmt)
    records, last = 0, b""
    for block, ends in _blocks(stream, tracker):
        records += block.count(b"\n") if ends is None else len(ends)
        last = block
    if last and not last.endswith(b"\n"):
        records += 1
    elif tracker is not None and tracker.in_quotes:
        # An unclosed quote runs to the end of the file; the csv reader still returns that record.
        records += 1
    if fmt.kind == "csv" and records:
        records -= 1
    return records


def count_records(source: IO[bytes], fmt: FileFormat) -> int:
    """Records the parsers will yield for this file, blank ones included (the CSV header is not a record)."""
    stream = _decompressed(source) if fmt.compressed else source
    if fmt.kind == "json_array":
        return sum(1 for _ in iter_elements(stream, fmt.encoding))
    return _count_lines_or_records(stream, fmt)


class _PrefixedStream:
    """A stream with bytes already read put back in front, so a peek works on any stream."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self._prefix:
            return self._stream.read(size)
        if size is None or size < 0:
            data, self._prefix = self._prefix + self._stream.read(), b""
            return data
        data, self._prefix = self._prefix[:size], self._prefix[size:]
        return data


def _decompressed(source: IO[bytes]) -> IO[bytes]:
    """The source itself when it is already plain, else a gzip reader over it."""
    magic = source.read(2)
    stream = _PrefixedStream(magic, source)
    return gzip.GzipFile(fileobj=stream, mode="rb") if magic == _GZIP_MAGIC else stream


def _ndjson_lines(stream: IO[bytes], encoding: str) -> Iterator[bytes]:
    for _number, _record, error, raw in iter_elements(stream, encoding):
        if raw:
            yield raw.encode("utf-8") + b"\n"
        else:
            # A line the NDJSON parser reports with this reason, keeping line number == element index.
            yield CONVERSION_ERROR_PREFIX + (error or "").replace("\n", " ").encode("utf-8") + b"\n"


def write_plain_copy(source: IO[bytes], fmt: FileFormat, out: IO[bytes]) -> FileFormat:
    """Write the upload as a plain file the chunk planner can cut: JSON arrays become NDJSON."""
    stream = _decompressed(source) if fmt.compressed else source
    if fmt.kind == "json_array":
        out.writelines(_ndjson_lines(stream, fmt.encoding))
        return FileFormat(kind="ndjson", encoding="utf-8", compressed=False)
    shutil.copyfileobj(stream, out, _BLOCK)
    return replace(fmt, compressed=False)
