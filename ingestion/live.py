"""The live feed: one Redis stream entry per bulk request that indexed documents, which live tails follow.

A document's `ingested_at` is stamped when it is built, before it is sent; batches then become searchable in
any order (two workers, retries, chunks of different sizes). So a live tail cannot find new events by asking
Elasticsearch for `ingested_at` later than the last one it showed: an earlier-stamped batch indexed later would
be skipped. Instead, whoever indexes a batch appends an entry here once Elasticsearch has taken it, naming
exactly which documents it holds (a source such as `file_id`, a line range and the `ingested_at` stamp) and how
many. Entry ids are Redis stream ids, increasing in the order batches were indexed: a tail's resume cursor.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from config.cache import CACHE_UNAVAILABLE
from config.redis import get_redis

logger = logging.getLogger(__name__)
# Entries older than this are trimmed: a tail can resume (Last-Event-ID) after at most this long away.
RETENTION_SECONDS = 3600
START = "0-0"


@dataclass(frozen=True)
class IndexedBatch:
    """Documents indexed by one bulk request: `source_field` = `source_value`, lines in [first_line, last_line],
    stamped `ingested_at`; `count` of them were indexed (the rest went to the fallback index)."""

    entry: str
    owner: str
    ingested_at: str
    source_field: str
    source_value: str
    first_line: int
    last_line: int
    count: int

    @property
    def appended_ms(self) -> int:
        """When the entry was appended (Redis stream ids start with the milliseconds of their creation)."""
        return int(self.entry.partition("-")[0])


def _feed_key() -> str:
    # Per index prefix, so two deployments (or the tests) sharing one Redis never see each other's batches.
    return f"{settings.LOGS_INDEX_PREFIX}:live-feed"


def live_feed_append(
    *, owner: str, ingested_at: str, source_field: str, source_value: str, lines: tuple[int, int], count: int
) -> None:
    """Record that a batch is indexed. Never fails the caller: the index is the truth, a live tail only a view
    of it (with Redis away, tails miss the batch and the log says so).

    Nothing is recorded for a batch with no document indexed, nor without a stamp (a chunk enriched by a
    version before `ingested_at`, finishing after an upgrade).
    """
    if not count or not ingested_at:
        return
    key = _feed_key()
    first, last = lines
    try:
        client = get_redis()
        # A stage retried after a transient error sends its earlier bodies again (same stamp, same documents):
        # one entry per batch, so a tail never shows them twice.
        once = f"{key}:sent:{source_field}:{source_value}:{first}:{ingested_at}"
        if not client.set(once, 1, nx=True, ex=RETENTION_SECONDS):
            return
        fields = {
            "owner": owner,
            "ingested_at": ingested_at,
            "source_field": source_field,
            "source_value": source_value,
            "first_line": first,
            "last_line": last,
            "count": count,
        }
        oldest_kept = int(time.time() * 1000) - RETENTION_SECONDS * 1000
        client.xadd(key, fields, minid=oldest_kept, approximate=True)
    except CACHE_UNAVAILABLE as error:
        logger.warning("live feed unavailable (%s): live tails will not show %s %s", error, source_field, source_value)


def _batch(entry: bytes, fields: dict[bytes, bytes]) -> IndexedBatch:
    text = {name.decode(): value.decode() for name, value in fields.items()}
    return IndexedBatch(
        entry=entry.decode(),
        owner=text["owner"],
        ingested_at=text["ingested_at"],
        source_field=text["source_field"],
        source_value=text["source_value"],
        first_line=int(text["first_line"]),
        last_line=int(text["last_line"]),
        count=int(text["count"]),
    )


def live_feed_read(*, after: str, inclusive: bool = False, limit: int = 100) -> list[IndexedBatch]:
    """The batches indexed after entry `after` (and that entry too, if `inclusive` and still kept), oldest first.

    Raises the cache's errors when Redis is away.
    """
    start = after if inclusive else f"({after}"
    entries = get_redis().xrange(_feed_key(), min=start, max="+", count=limit)
    return [_batch(entry, fields) for entry, fields in entries]


def live_feed_end() -> str:
    """The id of the newest entry (a tail that starts now continues from it)."""
    newest = get_redis().xrevrange(_feed_key(), max="+", min="-", count=1)
    return newest[0][0].decode() if newest else START
