"""Inspecting a received upload before it is accepted: format, preview, timestamp field, record count."""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO

from django.conf import settings

from ingestion.chunking import count_records
from ingestion.formats import FileFormat, FormatError, check_extension, detect_format, file_type
from ingestion.parsers import Row
from ingestion.parsers.json_array import iter_elements
from ingestion.parsers.plain import parse_slice
from ingestion.timestamps import TIMESTAMP_FIELD_NAMES, find_timestamp_field

HEAD_BYTES = 1 << 20
PREVIEW_RECORDS = 10
# Rows read to find the first records: a file may open with a few blank or broken lines.
_PROBE_ROWS = 100


@dataclass(frozen=True)
class FileInspection:
    format: FileFormat
    file_type: str
    preview: list[dict]
    timestamp_field: str
    total_lines: int


def _head(open_readable: Callable[[], IO[bytes]]) -> tuple[bytes, bool]:
    """The start of the file, at least its whole first line; and whether that is the whole file."""
    with open_readable() as stream:
        head = stream.read(HEAD_BYTES)
        if len(head) < HEAD_BYTES:
            return head, True
        # A first record longer than the usual head: read on to its end, within the record limit.
        limit = settings.LOGS_MAX_RECORD_MB * 2**20
        while b"\n" not in head:
            block = stream.read(HEAD_BYTES)
            if not block:
                return head, True
            head += block
            if len(head) > limit and b"\n" not in head[:limit]:
                raise FormatError(
                    f"Line 1 is longer than {settings.LOGS_MAX_RECORD_MB} MB; each record must be shorter"
                )
        return head, False


def _first_rows(open_readable: Callable[[], IO[bytes]], fmt: FileFormat, head: bytes, whole: bool) -> list[Row]:
    """The rows at the start of the file, parsed as the pipeline will parse them."""
    if fmt.kind == "json_array":
        with open_readable() as stream:
            return list(itertools.islice(iter_elements(stream, fmt.encoding), _PROBE_ROWS))
    if not whole:
        head = head[: head.rfind(b"\n") + 1]  # whole lines only
    return list(itertools.islice(parse_slice(head, fmt, first_line=1, skip_header=True), _PROBE_ROWS))


def _preview(rows: list[Row]) -> list[dict]:
    """The first parsed records; a file whose first rows all fail is refused with the first reason."""
    rows = [row for row in rows if row[1] is not None or row[2] is not None]
    records = [record for _line, record, _error, _raw in rows if record is not None]
    if not rows:
        raise FormatError("File is empty")
    if not records:
        line, _record, error, _raw = rows[0]
        raise FormatError(f"Line {line}: {error}", line=line)
    return records[:PREVIEW_RECORDS]


def inspect_file(*, open_readable: Callable[[], IO[bytes]], filename: str, size: int) -> FileInspection:
    """What the pipeline needs to know about a received file; FormatError when it cannot be accepted.

    `open_readable` opens its readable (decompressed) bytes, each time from the start; `filename` is the name
    the user gave it.
    """
    check_extension(filename)
    if size == 0:
        raise FormatError("File is empty")
    head, whole = _head(open_readable)
    # The pipeline reads the decompressed copy of a .gz, so the format describes that copy.
    fmt = replace(detect_format(filename, head), compressed=False)
    preview = _preview(_first_rows(open_readable, fmt, head, whole))
    timestamp_field = find_timestamp_field(list(dict.fromkeys(name for record in preview for name in record)))
    if timestamp_field is None:
        expected = ", ".join(TIMESTAMP_FIELD_NAMES[:8])
        raise FormatError(
            f"No timestamp field found (expected one of: {expected}, ...): add a column with each event's date "
            "and time, named like one of these"
        )
    with open_readable() as stream:
        total_lines = count_records(stream, fmt)
    if total_lines > settings.LOGS_MAX_LINES:
        raise FormatError(f"The file has {total_lines:,} lines; an upload may have at most {settings.LOGS_MAX_LINES:,}")
    return FileInspection(
        format=fmt,
        file_type=file_type(filename),
        preview=preview,
        timestamp_field=timestamp_field,
        total_lines=total_lines,
    )
