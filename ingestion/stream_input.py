"""Reading a shipper's request body: its lines (inflated when gzip, bounded), NDJSON or `_bulk` pairs, checked events.

Everything here works piece by piece: a 10 MB body is never held whole, so a web process's memory stays flat
whatever the shippers send.
"""

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson

from ingestion.records import RecordError, event_time
from ingestion.timestamps import find_timestamp_field

PIECE = 64 * 2**10
GZIP_WINDOW = 16 + zlib.MAX_WBITS
BULK_ACTIONS = ("index", "create", "delete", "update")
# Actions that carry a document line after them.
WITH_SOURCE = frozenset({"index", "create", "update"})
ACCEPTED_ACTIONS = frozenset({"index", "create"})
# A shipper's own _id longer than this is hashed (Elasticsearch's ids are at most 512 bytes).
MAX_GIVEN_ID = 200
_MAX_TIMESTAMP_LAYOUTS = 4096


class BodyRefused(Exception):
    """The request body as a whole cannot be taken (too large, not gzip, a broken `_bulk` action line)."""

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.message = message
        self.too_large = too_large


class LineRefused(ValueError):
    """One line that cannot become an event; the message says why, for its dead letter."""


@dataclass(frozen=True)
class IncomingLine:
    """One event line of a request: where it was, its bytes, and what a `_bulk` action said about it."""

    line: int
    raw: bytes
    action: str = "index"
    stream: str | None = None  # the `_index` of a `_bulk` action (None: the request's stream)
    given_id: str | None = None  # the `_id` of a `_bulk` action


def body_lines(read: Callable[[int], bytes], *, gzipped: bool, limit: int) -> Iterator[bytes]:
    """The body's lines without their line ends, read piece by piece (inflated first when gzipped).

    BodyRefused past `limit` bytes (of the inflated body when gzipped): a gzip bomb stops at the limit.
    """
    pieces = _read_pieces(read)
    if gzipped:
        pieces = _inflated(pieces)
    size, rest = 0, b""
    for piece in pieces:
        size += len(piece)
        if size > limit:
            raise BodyRefused(f"The request body exceeds {limit // 2**20} MB", too_large=True)
        lines = (rest + piece).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line.removesuffix(b"\r")
    if rest:
        yield rest.removesuffix(b"\r")


def _read_pieces(read: Callable[[int], bytes]) -> Iterator[bytes]:
    while piece := read(PIECE):
        yield piece


def _inflated(pieces: Iterator[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(GZIP_WINDOW)
    started = False  # the current gzip member has begun and not ended
    try:
        for data in pieces:
            while True:
                started = started or bool(data)
                # max_length bounds what one piece may expand to (a bomb inflates ~1000x).
                piece = inflater.decompress(data, PIECE)
                yield piece
                if inflater.eof:  # concatenated gzip members are one body
                    data, started = inflater.unused_data, False
                    inflater = zlib.decompressobj(GZIP_WINDOW)
                    if not data:
                        break
                    continue
                data = inflater.unconsumed_tail
                # A full piece may leave more output inside zlib even when all input was taken.
                if not data and len(piece) < PIECE:
                    break
    except zlib.error:
        raise BodyRefused("The body says Content-Encoding: gzip but is not valid gzip") from None
    if started:
        raise BodyRefused("The gzip body is truncated")


def ndjson_lines(lines: Iterator[bytes]) -> Iterator[IncomingLine]:
    """Each non-blank line of an NDJSON body, numbered from 1 as the sender counts them."""
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            yield IncomingLine(line=number, raw=raw)


def bulk_lines(lines: Iterator[bytes]) -> Iterator[IncomingLine]:
    """The items of a `_bulk` body: each action line with its document line (`delete` has none).

    A line that should be an action and is not one ends the request (BodyRefused), as Elasticsearch does.
    Each item's `line` is its action's line number.
    """
    numbered = enumerate(lines, start=1)
    for number, raw in numbered:
        if not raw.strip():
            continue
        action, meta = _action(number, raw)
        if action not in WITH_SOURCE:
            yield IncomingLine(line=number, raw=raw, action=action, stream=_text(meta.get("_index")))
            continue
        source = next(numbered, None)
        if source is None:
            raise BodyRefused(f"The {action} action on line {number} has no document line after it")
        yield IncomingLine(
            line=number,
            raw=source[1],
            action=action,
            stream=_text(meta.get("_index")),
            given_id=_text(meta.get("_id")),
        )


def _action(number: int, raw: bytes) -> tuple[str, dict]:
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BodyRefused(f"Malformed action/metadata line [{number}]: not JSON") from None
    if type(parsed) is not dict or len(parsed) != 1:
        raise BodyRefused(f"Malformed action/metadata line [{number}]: expected one of {', '.join(BULK_ACTIONS)}")
    ((action, meta),) = parsed.items()
    if action not in BULK_ACTIONS:
        raise BodyRefused(
            f"Malformed action/metadata line [{number}], expected one of {', '.join(BULK_ACTIONS)} but found [{action}]"
        )
    if type(meta) is not dict:
        raise BodyRefused(f"Malformed action/metadata line [{number}]: the {action} action takes an object")
    return action, meta


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


_timestamp_fields: dict[tuple[str, ...], str | None] = {}


def timestamp_field_of(record: dict) -> str | None:
    """The record's event-time field, found by name as the pipeline finds a file's (cached per set of keys)."""
    keys = tuple(record)
    if keys not in _timestamp_fields:
        if len(_timestamp_fields) >= _MAX_TIMESTAMP_LAYOUTS:
            _timestamp_fields.clear()
        _timestamp_fields[keys] = find_timestamp_field(keys)
    return _timestamp_fields[keys]


def checked_event(raw: bytes) -> tuple[dict, str]:
    """The line as a record and its timestamp field; LineRefused says why it cannot be an event."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise LineRefused(f"Not valid JSON ({error})") from None
    if type(record) is not dict:
        raise LineRefused("Not a JSON object")
    field = timestamp_field_of(record)
    if field is None:
        raise LineRefused("No timestamp field (such as @timestamp, timestamp or time)")
    try:
        event_time(record, field)
    except RecordError as error:
        raise LineRefused(str(error)) from None
    return record, field


class EventIds:
    """Deterministic document ids of one request's events: a shipper's retry after a timeout overwrites, never
    duplicates.

    A line's id is the sha1 of its bytes, with its occurrence number among identical lines of the request after
    the first; a `_bulk` action's own `_id` is kept instead. Both are prefixed with the stream id.
    """

    def __init__(self) -> None:
        self._seen: dict[bytes, int] = {}

    def id_of(self, stream_id: str, item: IncomingLine) -> str:
        if item.given_id is not None:
            given = item.given_id
            if len(given) > MAX_GIVEN_ID:
                given = hashlib.sha1(given.encode(), usedforsecurity=False).hexdigest()
            return f"{stream_id}:{given}"
        digest = hashlib.sha1(item.raw, usedforsecurity=False)
        key = digest.digest()
        occurrence = self._seen.get(key, 0)
        self._seen[key] = occurrence + 1
        suffix = f"-{occurrence}" if occurrence else ""
        return f"{stream_id}:{digest.hexdigest()}{suffix}"
