"""Rows of a record-aligned slice of a plain (CSV, NDJSON or access-log) upload, whichever its format."""

from collections.abc import Iterator

from ingestion.formats import FileFormat
from ingestion.parsers import Row
from ingestion.parsers import access_log as access_log_parser
from ingestion.parsers import csv as csv_parser
from ingestion.parsers import ndjson as ndjson_parser


def parse_slice(data: bytes, fmt: FileFormat, *, first_line: int, skip_header: bool) -> Iterator[Row]:
    """`skip_header`: the slice starts at the top of a CSV file, so its first record is the header."""
    if fmt.kind == "csv":
        return csv_parser.parse_chunk(data, fmt, first_line, skip_header=skip_header)
    if fmt.kind == "access_log":
        return access_log_parser.parse_chunk(data, fmt.encoding, first_line)
    return ndjson_parser.parse_chunk(data, fmt.encoding, first_line)
