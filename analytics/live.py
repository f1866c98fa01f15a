"""Live tail: the events a user may see, as Server-Sent Events, about a second after they become searchable.

A tail follows ingestion's live feed (one entry per indexed bulk request, in the order Elasticsearch took them)
instead of asking Elasticsearch every second for what is new. It queries Elasticsearch only for a new batch the
user may see, and only for that batch's documents (its source, line range and `ingested_at` stamp), with the
search page's own filters (`scoped_search`) as a post filter. A batch is shown once all of its documents are
searchable, in line order. Each event's `id:` says how far the tail got (`<feed entry>/<line>`), so a client that
reconnects with Last-Event-ID continues without a gap or a repeat.

The app runs under gunicorn's threaded WSGI workers (uploads stream through WSGI to disk), so a tail is a plain
generator holding one thread: each process opens at most LIVE_MAX_STREAMS of them, each for LIVE_STREAM_SECONDS.
"""

import logging
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import cache

import orjson
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from elasticsearch_dsl import Q, Search
from elasticsearch_dsl.query import Query

from analytics.filters import EventFilters, scoped_search
from analytics.search import search_check
from config.cache import CACHE_UNAVAILABLE
from config.errors import ApplicationError, ServiceUnavailable
from config.es import CLIENT_UNREACHABLE, get_es
from ingestion.contract import IndexedBatch, events_alias, live_feed_end, live_feed_read

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15
# EventSource waits this long before reconnecting when a stream ends (every LIVE_STREAM_SECONDS).
RECONNECT_MS = 1000
PAGE_SIZE = 500
# A batch whose documents never all become searchable (its upload deleted meanwhile) is shown as it is after this.
SEARCHABLE_WAIT_MS = 10_000
BUSY_RETRY_SECONDS = 5
UNAVAILABLE = (*CACHE_UNAVAILABLE, *CLIENT_UNREACHABLE)
_CURSOR = re.compile(r"(\d{1,20}-\d{1,20})(?:/(\d{1,19}))?")


@dataclass(frozen=True)
class Cursor:
    """How far a tail got: past feed entry `entry`, or, when `line` is set, through that line of its batch."""

    entry: str
    line: int | None = None

    def __str__(self) -> str:
        return self.entry if self.line is None else f"{self.entry}/{self.line}"


def cursor_from(text: str) -> Cursor:
    match = _CURSOR.fullmatch(text.strip())
    if match is None:
        raise ApplicationError("Last-Event-ID: not a position this API gave out")
    return Cursor(match[1], int(match[2]) if match[2] else None)


def _owner_shown(user: AbstractBaseUser, filters: EventFilters) -> str | None:
    """Whose batches the tail looks at: the user's own; staff everyone's (None), or the one owner they ask for."""
    return filters.owner if user.is_staff else str(user.pk)


def _user_query(user: AbstractBaseUser, filters: EventFilters) -> Query | None:
    """What the search page would match for this user and these filters, as one query."""
    query = scoped_search(user, filters, Search()).to_dict().get("query")
    return Q(query) if query else None


def _searchable(batch: IndexedBatch, response: dict) -> bool:
    """Whether every document of the batch can be found yet (one refresh, about a second, after indexing)."""
    if response["hits"]["total"]["value"] >= batch.count:
        return True
    return time.time() * 1000 - batch.appended_ms > SEARCHABLE_WAIT_MS


class LiveTail:
    """One client's tail: reads the feed after its cursor and turns the batches it may see into SSE text."""

    def __init__(self, *, user: AbstractBaseUser, filters: EventFilters, cursor: Cursor) -> None:
        self.cursor = self.sent = cursor
        self.owner = _owner_shown(user, filters)
        self.query = _user_query(user, filters)

    def poll(self) -> Iterator[str]:
        """The events of the batches indexed since the cursor, as far as they are searchable; moves the cursor."""
        for batch in live_feed_read(after=self.cursor.entry, inclusive=self.cursor.line is not None):
            if self.owner is None or batch.owner == self.owner:
                complete = yield from self._batch_events(batch)
                if not complete:
                    break  # not all searchable yet: this batch again at the next poll, the later ones after it
            self.cursor = Cursor(batch.entry)
        if self.cursor.entry != self.sent.entry:
            # Past batches that gave this client nothing: a reconnect need not read them again.
            self.sent = self.cursor
            yield f"id: {self.cursor}\n\n"

    def _batch_events(self, batch: IndexedBatch) -> Generator[str, None, bool]:
        after = self.cursor.line if self.cursor.entry == batch.entry else None
        response = self._page(batch, after)
        if not _searchable(batch, response):
            return False
        while True:
            hits = response["hits"]["hits"]
            for hit in hits:
                self.cursor = self.sent = Cursor(batch.entry, hit["sort"][0])
                event = {"id": hit["_id"], "index": hit["_index"], "source": hit["_source"]}
                yield f"id: {self.cursor}\ndata: {orjson.dumps(event).decode()}\n\n"
            if len(hits) < PAGE_SIZE:
                return True
            response = self._page(batch, self.cursor.line)

    def _page(self, batch: IndexedBatch, after_line: int | None) -> dict:
        # The total counts the whole batch (the post filter does not narrow it): that is how we know it is all there.
        search = (
            Search(index=events_alias())
            .filter("term", **{batch.source_field: batch.source_value})
            .filter("term", ingested_at=batch.ingested_at)
            .filter("range", line={"gte": batch.first_line, "lte": batch.last_line})
            .sort("line")
            .extra(size=PAGE_SIZE, track_total_hits=True)
        )
        if self.query is not None:
            search = search.post_filter(self.query)
        if after_line is not None:
            search = search.extra(search_after=[after_line])
        return search.using(get_es()).execute().to_dict()


def _body(tail: LiveTail, lifetime: int) -> Iterator[str]:
    """The response body: events as they come, a comment when quiet for HEARTBEAT_SECONDS; it ends after `lifetime`
    seconds, or at once if Redis or Elasticsearch goes away (the client reconnects with Last-Event-ID either way)."""
    yield f"retry: {RECONNECT_MS}\nid: {tail.cursor}\n\n"
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < lifetime:
        try:
            for text in tail.poll():
                yield text
                quiet_since = time.monotonic()
        except UNAVAILABLE as error:
            logger.warning("live tail stopped: %s", error)
            return
        if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        time.sleep(POLL_SECONDS)


class LiveStream:
    """The SSE body of one tail. Closing it frees its stream slot, even if it never started (the server closes
    every response it was given, but a generator that never began would not run its own `finally`)."""

    def __init__(self, body: Iterator[str], release: Callable[[], object]) -> None:
        self._body = body
        self._release: Callable[[], object] | None = release

    def __iter__(self) -> Iterator[str]:
        return self._body

    def close(self) -> None:
        self._body.close()
        if self._release is not None:
            release, self._release = self._release, None
            release()


@cache
def _slots(limit: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(limit)


def live_tail_open(*, user: AbstractBaseUser, filters: EventFilters, resume: str = "") -> LiveStream:
    """A tail from `resume` (a Last-Event-ID this API gave) or from now.

    Everything that can fail is checked before the answer starts: a bad position or query is a 400, the feed or
    Elasticsearch unreachable a 503, and so is a process that already has LIVE_MAX_STREAMS tails open.
    """
    cursor = cursor_from(resume) if resume else None
    try:
        search_check(user=user, filters=filters)
        newest = live_feed_end()
    except UNAVAILABLE as error:
        logger.warning("live tail refused: %s", error)
        raise ServiceUnavailable("The live view is unavailable right now; try again in a minute.") from error
    slots = _slots(settings.LIVE_MAX_STREAMS)
    if not slots.acquire(blocking=False):
        raise ServiceUnavailable(
            "This server has as many live views open as it allows; try again in a few seconds.",
            retry_after=BUSY_RETRY_SECONDS,
        )
    tail = LiveTail(user=user, filters=filters, cursor=cursor or Cursor(newest))
    return LiveStream(_body(tail, settings.LIVE_STREAM_SECONDS), slots.release)
