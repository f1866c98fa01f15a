"""CSV downloads that are safe to open in a spreadsheet, streamed row by row."""

import csv
import io
from collections.abc import Collection, Iterable, Iterator

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> str:
    """The cell as text, prefixed with ' when a spreadsheet would otherwise run it as a formula.

    A number (a JSON number, not text that looks like one) is written as it is: -15.9 is a value.
    """
    if isinstance(value, int | float):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(header: list[str], rows: Iterable[Iterable[object]], *, own_names: Collection[str] = ()) -> Iterator[str]:
    """CSV text, one line at a time (for a StreamingHttpResponse); every cell neutralized.

    Header names in `own_names` are written as they are: they are our fixed column names (such as
    `@timestamp`), which call nothing and which a reader looks for by name. Any other header name came from
    an uploaded file (a column called `=HYPERLINK(...)` is data) and is neutralized like a cell.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name if name in own_names else neutralize(name) for name in header])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralize(cell) for cell in row])
        yield buffer.getvalue()
