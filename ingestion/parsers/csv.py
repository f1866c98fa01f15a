"""CSV parser: records keyed by the header, with the physical line each record starts on."""

import csv
import io
from collections.abc import Iterator

from ingestion.formats import FileFormat
from ingestion.parsers import Row


def _field_count_reason(count: int, width: int) -> str:
    return f"Row has {count} field{'s' if count != 1 else ''}, header has {width}"


def parse_chunk(data: bytes, fmt: FileFormat, first_line: int, skip_header: bool) -> Iterator[Row]:
    """Rows for a record-aligned slice of a CSV file whose first physical line is `first_line`.

    Empty values are left out of the record, so the index holds no empty fields.
    """
    header = fmt.header or ()
    width = len(header)
    text = data.decode(fmt.encoding, "replace").lstrip("\ufeff")
    lines = text.split("\n")
    # newline="\n" keeps physical lines identical to the byte-level count the chunk planner makes.
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=fmt.delimiter or ",")
    consumed = 0
    while True:
        try:
            for row in reader:
                start, consumed = consumed, reader.line_num
                if skip_header:
                    skip_header = False
                    continue
                raw = lines[start] if consumed - start == 1 else "\n".join(lines[start:consumed])
                raw = raw.removesuffix("\r")
                count = len(row)
                if not any(row) or (count == 1 and not row[0].strip()):
                    yield first_line + start, None, None, raw
                elif count == width or (count == width + 1 and row[-1] == ""):
                    # zip stops at the header: a trailing empty field from a trailing delimiter is dropped.
                    record = {name: value for name, value in zip(header, row, strict=False) if value}
                    yield first_line + start, record, None, raw
                else:
                    yield first_line + start, None, _field_count_reason(count, width), raw
            return
        except csv.Error as error:
            start, consumed = consumed, reader.line_num
            if skip_header:
                skip_header = False
                continue
            raw = "\n".join(lines[start:consumed]).removesuffix("\r")
            yield first_line + start, None, f"Malformed CSV: {error}", raw
