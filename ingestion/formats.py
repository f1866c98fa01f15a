"""Upload formats: which files we accept, and how to read one (encoding, JSON layout, CSV dialect)."""

import codecs
import csv
import io
import posixpath
from dataclasses import dataclass
from typing import IO, Literal

from ingestion.parsers.access_log import ACCESS_LINE, FORMAT_NAMES

ALLOWED_EXTENSIONS = (".csv", ".json", ".ndjson", ".jsonl", ".log")
CSV_DELIMITERS = (",", ";", "\t", "|")
UTF8_BOM = codecs.BOM_UTF8

_READ_BLOCK = 2**20
_SNIFF_LINES = 50
# Bytes that never appear in text files; real text has almost none, binary files plenty.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_HIGH_BYTES = bytes(range(0x80, 0x100))
# Positions cp1252 leaves undefined: a file holding them can only be read as Latin-1.
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")

Kind = Literal["csv", "ndjson", "json_array", "access_log"]
# What a refused file can become: said after each refusal of its content.
SAVE_AS = "save a spreadsheet as CSV, or export the logs as NDJSON (one JSON object per line)"


class FormatError(ValueError):
    """The upload cannot be read as a whole; `line` says where, when one line is to blame."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class FileFormat:
    kind: Kind
    encoding: str
    compressed: bool = False
    delimiter: str | None = None
    header: tuple[str, ...] | None = None

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "encoding": self.encoding,
            "compressed": self.compressed,
            "delimiter": self.delimiter,
            "header": list(self.header) if self.header is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "FileFormat":
        header = data.get("header")
        return cls(
            kind=data["kind"],
            encoding=data["encoding"],
            compressed=bool(data.get("compressed", False)),
            delimiter=data.get("delimiter"),
            header=tuple(header) if header is not None else None,
        )


def is_gzip_name(filename: str) -> bool:
    return filename.lower().endswith(".gz")


def _inner_extension(filename: str) -> str:
    name = posixpath.basename(filename.replace("\\", "/")).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return posixpath.splitext(name)[1]


def file_type(filename: str) -> str:
    """'csv', 'ndjson', 'json.gz', ...: the accepted extension without its dot."""
    inner = _inner_extension(filename).lstrip(".")
    return f"{inner}.gz" if is_gzip_name(filename) else inner


def check_extension(filename: str) -> None:
    extension = _inner_extension(filename)
    if extension not in ALLOWED_EXTENSIONS:
        raise FormatError(f"File extension '{extension}' not allowed")


def _is_binary(head: bytes, utf8_ok: bool) -> bool:
    if b"\x00" in head:
        return True
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if control * 20 > len(head):
        return True
    if utf8_ok:
        return False
    # Legacy-encoded text has a few accented letters; random binary has about half its bytes >= 0x80.
    high = len(head) - len(head.translate(None, _HIGH_BYTES))
    return high * 10 > len(head) * 3


def _decode_head(head: bytes) -> tuple[str, str]:
    """Return (encoding, text). A multi-byte character cut off by the 1 MiB limit is not an error."""
    encoding = "utf-8-sig" if head.startswith(UTF8_BOM) else "utf-8"
    try:
        return encoding, codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    try:
        return "cp1252", head.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", head.decode("latin-1")


def choose_encoding(stream: IO[bytes], first_guess: str) -> str:
    """Confirm the encoding guessed from the head against the whole stream, falling back as needed."""
    utf8_ok = first_guess in ("utf-8", "utf-8-sig")
    cp1252_ok = first_guess != "latin-1"
    decoder = codecs.getincrementaldecoder(first_guess)() if utf8_ok else None
    while cp1252_ok and (block := stream.read(_READ_BLOCK)):
        if utf8_ok:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                utf8_ok = False
        if any(byte in block for byte in _CP1252_UNDEFINED):
            cp1252_ok = False
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
            return first_guess
        except UnicodeDecodeError:
            utf8_ok = False
    return "cp1252" if cp1252_ok else "latin-1"


def _first_content(text: str) -> tuple[str, int]:
    """The first non-blank character and the line it is on."""
    stripped = text.lstrip()
    line = text.count("\n", 0, len(text) - len(stripped)) + 1
    return stripped[:1], line


def _complete_lines(text: str) -> str:
    lines = text.split("\n")
    # The head may end mid-line; a cut line would skew the field counts.
    if len(lines) > 2:
        lines = lines[:-1]
    return "\n".join(lines[: _SNIFF_LINES + 1])


def _delimiter_score(sample: str, delimiter: str) -> tuple[float, int]:
    rows = [row for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if row]
    if not rows or len(rows[0]) < 2:
        return 0.0, 0
    width = len(rows[0])
    matching = sum(1 for row in rows if len(row) == width or (len(row) == width + 1 and row[-1] == ""))
    return matching / len(rows), width


def sniff_delimiter(sample: str) -> str:
    """The candidate that splits the header and the following rows into the same number of fields."""
    best, best_score = ",", (0.0, 0)
    for delimiter in CSV_DELIMITERS:
        score = _delimiter_score(sample, delimiter)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def clean_header(names: list[str]) -> tuple[str, ...]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(names, start=1):
        name = raw.replace("\ufeff", "").strip() or f"column_{position}"
        if name in seen:
            suffix = 2
            while f"{name}_{suffix}" in seen:
                suffix += 1
            name = f"{name}_{suffix}"
        seen.add(name)
        cleaned.append(name)
    return tuple(cleaned)


def _csv_format(text: str, encoding: str, compressed: bool) -> FileFormat:
    if not text.split("\n", 1)[0].strip():
        raise FormatError("Line 1: the CSV header row is empty", line=1)
    sample = _complete_lines(text)
    delimiter = sniff_delimiter(sample)
    header_row = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter))
    return FileFormat("csv", encoding, compressed, delimiter, clean_header(header_row))


def detect_format(filename: str, head: bytes) -> FileFormat:
    """Decide how to read an upload from its name and the first bytes of its decompressed content."""
    check_extension(filename)
    if not head.removeprefix(UTF8_BOM).strip():
        raise FormatError("File is empty")
    encoding, text = _decode_head(head)
    if _is_binary(head, utf8_ok=encoding.startswith("utf-8")):
        raise FormatError(f"File is not text (binary content): {SAVE_AS}")
    compressed = is_gzip_name(filename)
    extension = _inner_extension(filename)
    if extension == ".csv":
        return _csv_format(text.lstrip("\ufeff"), encoding, compressed)
    if extension == ".log":
        _check_access_log(text.lstrip("\ufeff"))
        return FileFormat("access_log", encoding, compressed)
    first, line = _first_content(text.lstrip("\ufeff"))
    if first == "[":
        return FileFormat("json_array", encoding, compressed)
    if first == "{":
        return FileFormat("ndjson", encoding, compressed)
    raise FormatError(f"Line {line}: not a JSON object; {SAVE_AS}", line=line)


def _check_access_log(text: str) -> None:
    """A .log file is taken when most of its first lines are web server access-log lines."""
    numbered = [
        (number, line.removesuffix("\r"))
        for number, line in enumerate(_complete_lines(text).split("\n"), start=1)
        if line.strip()
    ]
    failing = [number for number, line in numbered if not ACCESS_LINE.fullmatch(line)]
    if len(failing) * 2 > len(numbered):
        raise FormatError(
            f"This .log file is not a web server access log: line {failing[0]} is not in {FORMAT_NAMES}. "
            f"Accepted are access logs in that format, CSV, JSON and NDJSON: {SAVE_AS}.",
            line=failing[0],
        )
