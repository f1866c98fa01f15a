"""The stream: events a shipper sends under one name, as accountable as a file. Its id, name rules and batches.

A stream is one (owner, name, log type); its id is derived from those, so the first request creates it and
every later one finds it. Each request's accepted lines become one batch per stream: a file in storage and a
record in MongoDB, processed by one task. A batch's counts add up at every moment:
received = indexed + dead_lettered + fallback + pending.
"""

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, fields
from enum import StrEnum

DEFAULT_STREAM = "default"
# The kind of the outbox event recorded when a stream's window of STREAM_WINDOW_MINUTES has closed.
STREAM_WINDOW_CLOSED = "stream.window_closed"
# A stream name as Elasticsearch's index names allow (shippers send those), in either case; no path characters.
STREAM_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,99}"
_STREAM_NAME = re.compile(STREAM_NAME_PATTERN)
# The counts a stream keeps per UTC day (of receipt), summed over its batches.
STREAM_COUNT_NAMES = ("received", "indexed", "dead_lettered", "fallback", "pending")


class BatchState(StrEnum):
    QUEUED = "queued"  # durable (file and record), its task dispatched or to be dispatched by the sweeper
    DONE = "done"  # every accepted line is indexed, dead-lettered or in the fallback index


def stream_name_problem(name: str) -> str | None:
    """Why `name` cannot name a stream; None when it can."""
    if _STREAM_NAME.fullmatch(name):
        return None
    return (
        f"'{name[:60]}' is not a stream name: 1 to 100 letters, digits and . _ + @ -, starting with a letter or digit"
    )


def stream_id_for(*, owner_id: int, name: str, log_type: str) -> str:
    """The same (owner, name, log type) always names the same stream."""
    return hashlib.sha1(f"{owner_id}\x00{name}\x00{log_type}".encode(), usedforsecurity=False).hexdigest()[:24]


@dataclass(frozen=True)
class Stream:
    stream_id: str
    owner_id: int
    owner_name: str
    name: str
    log_type: str
    created_at: dt.datetime

    @classmethod
    def from_document(cls, document: dict) -> "Stream":
        return cls(stream_id=document["_id"], **{field.name: document[field.name] for field in fields(cls)[1:]})

    def to_document(self) -> dict:
        return {"_id": self.stream_id, **{field.name: getattr(self, field.name) for field in fields(self)[1:]}}


@dataclass(frozen=True)
class Batch:
    """One request's lines for one stream; `file` is None when none of them was accepted."""

    batch_id: str
    stream_id: str
    owner_id: int
    stream: str
    log_type: str
    day: str
    received_at: dt.datetime
    state: BatchState
    file: str | None
    received: int
    accepted: int
    indexed: int = 0
    dead_lettered: int = 0
    fallback: int = 0
    pending: int = 0
    # Set when processing starts and kept by a second run, so its documents keep one `ingested_at`.
    ingested_at: dt.datetime | None = None
    processed_at: dt.datetime | None = None
    dispatched_at: dt.datetime | None = None
    batches: int = 1  # summed per day: FerretDB's $group has $sum of a field, not a working {$sum: 1}

    @classmethod
    def from_document(cls, document: dict) -> "Batch":
        values = {field.name: document.get(field.name, field.default) for field in fields(cls)[1:]}
        return cls(batch_id=document["_id"], **{**values, "state": BatchState(document["state"])})

    def to_document(self) -> dict:
        return {"_id": self.batch_id, **{field.name: getattr(self, field.name) for field in fields(self)[1:]}}

    @property
    def rejected(self) -> int:
        return self.received - self.accepted
