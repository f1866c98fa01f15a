"""The stream's lifecycle: receive a request's lines, process a batch, re-dispatch lost batches, close windows.

A request is answered only once its accepted lines are durable: written to a batch file in storage and
recorded in MongoDB (state queued), then handed to one task by name. The task parses, enriches and indexes
the whole batch; its documents' ids are deterministic, so running it twice (a redelivery, the sweeper) or a
shipper sending the same lines again overwrites instead of duplicating. Every received line ends indexed,
dead-lettered or in the fallback index, and the batch's counts say which.
"""

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from elasticsearch import Elasticsearch
from rest_framework import status

from config.errors import ApplicationError
from config.es import get_es
from ingestion import files, geoip
from ingestion import repository as repo
from ingestion import stream_repository as streams_repo
from ingestion.bulk import encode_with_id, refresh, send, write_fallback_documents
from ingestion.dispatch import dispatch_stream_batch, notify_job_finished
from ingestion.documents import daily_index, ensure_index_templates
from ingestion.field_types import infer_field_types
from ingestion.indices import daily_indices_known, headroom_refusal, shard_usage, shards_per_index
from ingestion.live import live_feed_append
from ingestion.log_types import guess_log_type
from ingestion.records import RecordError, build_document
from ingestion.services import deliveries
from ingestion.services.deliveries import Verdict
from ingestion.stream import STREAM_WINDOW_CLOSED, Batch, BatchState, Stream, stream_id_for, stream_name_problem
from ingestion.stream_input import (
    ACCEPTED_ACTIONS,
    EventIds,
    IncomingLine,
    LineRefused,
    checked_event,
    timestamp_field_of,
)
from ingestion.timestamps import format_timestamp

logger = logging.getLogger(__name__)

ERROR_SAMPLE = 20
# One request may send to this many streams (a _bulk body names one per item); beyond, items are refused.
MAX_STREAMS_PER_REQUEST = 20
# A batch the broker never handed to a worker (it was down, the task was lost) is dispatched again after this.
REDISPATCH_AFTER = dt.timedelta(minutes=2)
# Windows are closed once they ended this long ago and every batch in them is done; the beat looks this far back.
WINDOW_GRACE = dt.timedelta(seconds=30)
WINDOW_LOOKBACK = dt.timedelta(hours=1)
# A batch whose processing killed its worker this many times is set aside (dead-lettered), not run again.
MAX_WORKER_CRASHES = 3
# Queued batches a task looks at to take along with its own (the oldest first).
CLAIM_LOOKAHEAD = 100
# Lines of a batch read to guess the log type of a stream that names none.
TYPE_SAMPLE = 200
# Elasticsearch's own error types, so a shipper's log reads as it would against Elasticsearch.
EVENT_REFUSED = "document_parsing_exception"
ACTION_REFUSED = "illegal_argument_exception"
NAME_REFUSED = "invalid_index_name_exception"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class QueueFull(ApplicationError):
    """Too many batches wait for processing: the sender should retry later (429 with Retry-After)."""

    def __init__(self, message: str):
        super().__init__(message, status.HTTP_429_TOO_MANY_REQUESTS, retry_after=settings.STREAM_RETRY_AFTER_SECONDS)


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one item, as a `_bulk` answer reports it."""

    action: str
    stream: str
    doc_id: str | None
    error_type: str | None = None
    reason: str | None = None


@dataclass
class Receipt:
    """A request's answer: counts, the first errors, the streams it reached, and (when asked) every item."""

    accepted: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    stream_ids: list[str] = field(default_factory=list)
    items: list[ItemOutcome] | None = None


def stream_queue_check(*, owner_id: int) -> None:
    """QueueFull when the batches waiting behind the endpoint (everyone's, or this owner's) are past their bound."""
    waiting = streams_repo.batches_unfinished()
    if waiting >= settings.STREAM_MAX_QUEUED_BATCHES:
        raise QueueFull(
            f"{waiting} batches are waiting to be indexed (the bound is {settings.STREAM_MAX_QUEUED_BATCHES}); "
            f"retry in {settings.STREAM_RETRY_AFTER_SECONDS} s"
        )
    own = streams_repo.batches_unfinished(owner_id=owner_id)
    if own >= settings.STREAM_MAX_QUEUED_BATCHES_PER_OWNER:
        raise QueueFull(
            f"{own} of your batches are waiting to be indexed (the bound per user is "
            f"{settings.STREAM_MAX_QUEUED_BATCHES_PER_OWNER}); retry in {settings.STREAM_RETRY_AFTER_SECONDS} s"
        )


class _Pending:
    """One stream's part of a request while it is read: its accepted lines in a temporary file, counted and hashed."""

    def __init__(self, stream: Stream):
        self.stream = stream
        self.received = 0
        self.accepted = 0
        self.file = None
        # The batch id is the hash of the stream's lines: the same lines sent again are the same batch.
        self.digest = hashlib.sha1(stream.stream_id.encode(), usedforsecurity=False)

    def write(self, doc_id: str, line: int, raw: bytes) -> None:
        if self.file is None:
            self.file = files.batch_temporary(".batch")
        entry = b"%s\t%d\t%s\n" % (doc_id.encode(), line, raw)
        self.file.write(entry)
        self.digest.update(entry)
        self.accepted += 1

    def refuse(self, line: int, raw: bytes) -> None:
        self.digest.update(b"!%d\t%s\n" % (line, raw))

    @property
    def batch_id(self) -> str:
        return f"{self.stream.stream_id}-{self.digest.hexdigest()[:24]}"


class _Request:
    """Everything a request writes before it is answered, and its cleanup whatever happens."""

    def __init__(self, *, owner: AbstractBaseUser, log_type: str, received_at: dt.datetime):
        self.owner = owner
        self.log_type = log_type
        self.received_at = received_at
        self.streams: dict[str, _Pending] = {}
        self.refused = files.batch_temporary(".refused")
        self.stored: list[str] = []

    def pending_for(self, name: str) -> _Pending:
        pending = self.streams.get(name)
        if pending is None:
            stream = Stream(
                stream_id=stream_id_for(owner_id=self.owner.pk, name=name, log_type=self.log_type),
                owner_id=self.owner.pk,
                owner_name=self.owner.get_username(),
                name=name,
                log_type=self.log_type,
                created_at=self.received_at,
            )
            pending = self.streams[name] = _Pending(stream)
        return pending

    def dead_letter(self, pending: _Pending, line: int, raw: bytes, reason: str) -> None:
        pending.refuse(line, raw)
        row = {
            "stream_id": pending.stream.stream_id,
            "line": line,
            "raw": raw.decode(errors="replace"),
            "reason": reason,
        }
        self.refused.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> None:
        for handle in [self.refused, *(pending.file for pending in self.streams.values())]:
            if handle is not None:
                handle.close()
                Path(handle.name).unlink(missing_ok=True)


def stream_receive(
    *, owner: AbstractBaseUser, log_type: str, stream_name: str, items: Iterator[IncomingLine], keep_items: bool = False
) -> Receipt:
    """Take a request's lines for the streams they name (`stream_name` unless a `_bulk` action names another).

    Accepted lines become one queued batch per stream (file in storage, record in MongoDB, then its task);
    refused ones are dead-lettered with the reason. Returns once all of it is durable.
    """
    request = _Request(owner=owner, log_type=log_type, received_at=now())
    receipt = Receipt(items=[] if keep_items else None)
    ids = EventIds()
    try:
        for item in items:
            _take(request, receipt, ids, item, item.stream or stream_name)
        for pending in request.streams.values():
            _record(request, pending)
        receipt.stream_ids = [pending.stream.stream_id for pending in request.streams.values()]
    except BaseException:
        for name in request.stored:
            files.batch_delete(name)
        raise
    finally:
        request.close()
    return receipt


def _take(request: _Request, receipt: Receipt, ids: EventIds, item: IncomingLine, name: str) -> None:
    problem = stream_name_problem(name)
    if problem is None and name not in request.streams and len(request.streams) >= MAX_STREAMS_PER_REQUEST:
        problem = f"A request may send to at most {MAX_STREAMS_PER_REQUEST} streams"
    if problem is not None:
        # No stream to account it to: refused in the answer only, like a request Elasticsearch would refuse.
        _refused(receipt, item, name, None, NAME_REFUSED, problem)
        return
    pending = request.pending_for(name)
    pending.received += 1
    if item.action not in ACCEPTED_ACTIONS:
        reason = f"The {item.action} action is not supported: this endpoint only takes index and create"
        request.dead_letter(pending, item.line, item.raw, reason)
        _refused(receipt, item, name, None, ACTION_REFUSED, reason)
        return
    try:
        checked_event(item.raw)
    except LineRefused as refusal:
        request.dead_letter(pending, item.line, item.raw, str(refusal))
        _refused(receipt, item, name, item.given_id, EVENT_REFUSED, str(refusal))
        return
    doc_id = ids.id_of(pending.stream.stream_id, item)
    pending.write(doc_id, item.line, item.raw)
    receipt.accepted += 1
    if receipt.items is not None:
        receipt.items.append(ItemOutcome(item.action, name, item.given_id or doc_id))


def _refused(receipt: Receipt, item: IncomingLine, name: str, doc_id: str | None, kind: str, reason: str) -> None:
    receipt.rejected += 1
    if len(receipt.errors) < ERROR_SAMPLE:
        receipt.errors.append({"line": item.line, "reason": reason})
    if receipt.items is not None:
        receipt.items.append(ItemOutcome(item.action, name, doc_id, kind, reason))


def _record(request: _Request, pending: _Pending) -> None:
    """Make one stream's part durable: batch file, dead letters, then the batch record; then dispatch it."""
    stream, batch_id = pending.stream, pending.batch_id
    day = request.received_at.date().isoformat()
    stored = None
    if pending.file is not None:
        pending.file.close()
        stored = files.batch_store(pending.file.name, batch_id=batch_id, day=day)
        request.stored.append(stored)
    streams_repo.stream_insert(stream)
    streams_repo.dead_letters_insert(_refused_rows(request, stream.stream_id, batch_id))
    batch = Batch(
        batch_id=batch_id,
        stream_id=stream.stream_id,
        owner_id=stream.owner_id,
        stream=stream.name,
        log_type=stream.log_type,
        day=day,
        received_at=request.received_at,
        state=BatchState.QUEUED if pending.accepted else BatchState.DONE,
        file=stored,
        received=pending.received,
        accepted=pending.accepted,
        dead_lettered=pending.received - pending.accepted,
        pending=pending.accepted,
        processed_at=None if pending.accepted else request.received_at,
        dispatched_at=request.received_at,
    )
    recorded = streams_repo.batch_insert(batch)
    if stored is None:
        return
    request.stored.remove(stored)
    if recorded:
        dispatch_stream_batch(batch_id)
    else:
        # These very lines were received before (a shipper's retry): that batch accounts for them.
        files.batch_delete(stored)


def _refused_rows(request: _Request, stream_id: str, batch_id: str) -> Iterator[dict]:
    request.refused.flush()
    with open(request.refused.name, "rb") as rows:
        for entry in rows:
            row = orjson.loads(entry)
            if row["stream_id"] == stream_id:
                yield {**row, "batch_id": batch_id, "owner_id": request.owner.pk, "at": request.received_at}


# Processing batches: a batch's task takes other queued batches along (up to STREAM_BATCH_EVENTS events), so the
# fixed cost of a run (its MongoDB round trips, the bulk request) is paid once for all of them.


@dataclass(frozen=True)
class _Built:
    doc_id: str
    line: int  # the line of the request (unique in its batch): with the batch's stamp it names the document
    day: str
    index: str
    pair: bytes  # its action and source lines, ready for _bulk


@dataclass
class _Work:
    """One batch of a run: its documents, and what became of those not indexed (reasons by document id)."""

    batch: Batch
    built: list[_Built]
    set_aside: dict[str, str]
    rejected: dict[str, str] = field(default_factory=dict)


def _task_id(batch_id: str) -> str:
    return f"batch:{batch_id}"


def batch_process(*, batch_id: str) -> dict[str, dict] | None:
    """Parse, enrich and index a queued batch, and the other queued batches this run can claim with it (one bulk
    request, one round of MongoDB writes; each batch counted on its own); what cannot be indexed is dead-lettered
    or goes to the fallback index. Returns the counts by batch id; None when there was nothing to do.

    Safe to run twice: the documents' ids are deterministic and the dead letters' too. A batch already done, or
    being run by another task, is left alone. Each run of each batch is recorded when it starts and when it ends,
    so a batch whose processing kills its worker is recognised, then run alone, and set aside, not run forever.
    """
    batch = streams_repo.batch_get(batch_id)
    if batch is None or batch.state == BatchState.DONE:
        return None
    if deliveries.delivery_running(task_id=_task_id(batch_id)):
        # Another run took it along and is on it: leave at once (the claims below cost four requests). If that run
        # dies, its starts go stale and the sweeper dispatches the batch again.
        return None
    claimed = _claim(batch)
    if not claimed:
        return None
    start_ids = [delivery.start_id for delivery in claimed.values()]
    try:
        batches = [item for item in streams_repo.batches_get(list(claimed)) if item.state != BatchState.DONE]
        crashes = claimed[batch_id].crashes if batch_id in claimed else 0
        if crashes >= MAX_WORKER_CRASHES:
            # Claimed alone (see _claim), so `batches` is this batch, unless another run has just finished it.
            reason = (
                f"Processing this batch stopped its worker {crashes} times; its lines were set aside instead "
                "of being tried forever"
            )
            return _give_up(batches[0], reason) if batches else None
        with deliveries.deliveries_heartbeat(start_ids=start_ids):
            return _process(batches)
    finally:
        # Only a run that dies with its worker leaves its starts behind (with a heartbeat that goes stale).
        repo.task_starts_delete_ids(start_ids)


def _claim(batch: Batch) -> dict[str, deliveries.Delivery]:
    """The batches this run processes ({batch_id: its delivery}), each claimed as its own task would claim it.

    Its own batch first, then the oldest other queued ones while they fit in STREAM_BATCH_EVENTS. A batch that
    already killed a worker runs alone, and is never taken along: the others must not share its fate.
    """
    candidates, events = [batch.batch_id], batch.accepted
    for other_id, accepted in streams_repo.batches_queued_oldest(CLAIM_LOOKAHEAD):
        if other_id != batch.batch_id and events + accepted <= settings.STREAM_BATCH_EVENTS:
            candidates.append(other_id)
            events += accepted
    verdicts = deliveries.deliveries_start(tasks={_task_id(name): name for name in candidates}, tries=0)
    running = {name: verdicts[_task_id(name)] for name in candidates if verdicts[_task_id(name)].verdict is Verdict.RUN}
    own = running.get(batch.batch_id)
    alone = own is not None and own.crashes > 0
    claimed = {
        name: delivery
        for name, delivery in running.items()
        if name == batch.batch_id or (not alone and delivery.crashes == 0)
    }
    released = [delivery.start_id for name, delivery in running.items() if name not in claimed]
    if released:
        repo.task_starts_delete_ids(released)
    return claimed


def _process(batches: list[Batch]) -> dict[str, dict] | None:
    batches = _stamped(batches)
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    ensure_index_templates(es, prefix)
    # A stream that names no log type has it guessed once per run, from its first batch's records: the guess reads
    # 200 records, as costly as building a third of a 500-event batch.
    log_types: dict[str, str] = {}
    works = [work for batch in batches if (work := _work(batch, prefix, log_types)) is not None]
    if not works:
        return None
    _within_limits(es, works)
    rejected = _send(es, [item for work in works for item in work.built])
    results = {}
    for work in works:
        work.rejected = {item.doc_id: rejected[item.doc_id] for item in work.built if item.doc_id in rejected}
        _announce(work)
        if work.set_aside or work.rejected:
            _store_refusals(es, prefix, work)
        results[work.batch.batch_id] = _result(work)
    return _finish([(work.batch, results[work.batch.batch_id]) for work in works])


def _stamped(batches: list[Batch]) -> list[Batch]:
    """Each batch with its `ingested_at`, set when its processing first starts: a millisecond apart within a run,
    since a batch's documents are named on the live feed by their stream, lines and stamp."""
    start = now()
    stamps = {
        batch.batch_id: start + dt.timedelta(milliseconds=number)
        for number, batch in enumerate(batches)
        if batch.ingested_at is None
    }
    streams_repo.batches_update({batch_id: {"ingested_at": stamp} for batch_id, stamp in stamps.items()})
    return [
        _with(batch, ingested_at=stamps[batch.batch_id]) if batch.batch_id in stamps else batch for batch in batches
    ]


def _work(batch: Batch, prefix: str, log_types: dict[str, str]) -> _Work | None:
    try:
        if batch.stream_id not in log_types:
            log_types[batch.stream_id] = _log_type(batch)
        built, unbuilt = _build(batch, prefix, log_types[batch.stream_id])
    except FileNotFoundError:
        # A second run that started before the first one finished and removed the file.
        if streams_repo.batch_get(batch.batch_id).state == BatchState.DONE:
            return None
        raise
    return _Work(batch, built, unbuilt)


def _result(work: _Work) -> dict:
    batch = work.batch
    indexed = len(work.built) - len(work.rejected)
    result = {
        "state": BatchState.DONE.value,
        "indexed": indexed,
        "dead_lettered": batch.rejected + len(work.set_aside),
        "fallback": len(work.rejected),
        "pending": 0,
        "processed_at": now(),
        "indices": sorted({item.index for item in work.built}),
    }
    if indexed + len(work.set_aside) + len(work.rejected) != batch.accepted:
        logger.error("batch %s: %s of %s accepted lines accounted for", batch.batch_id, result, batch.accepted)
    return result


def _finish(done: list[tuple[Batch, dict]]) -> dict[str, dict]:
    streams_repo.batches_update({batch.batch_id: result for batch, result in done})
    batch_ids = [batch.batch_id for batch, _result in done]
    streams_repo.queue_remove(batch_ids)
    repo.release_claims_of(batch_ids)
    repo.task_starts_delete_of(batch_ids)
    for batch, _result in done:
        files.batch_delete(batch.file)
    return {
        batch.batch_id: {name: result[name] for name in ("indexed", "dead_lettered", "fallback")}
        for batch, result in done
    }


def _give_up(batch: Batch, reason: str) -> dict[str, dict]:
    """Dead-letter every accepted line of a batch that cannot be processed, and close it; the counts add up."""
    logger.error("batch %s set aside: %s", batch.batch_id, reason)
    streams_repo.dead_letters_insert(
        {
            "stream_id": batch.stream_id,
            "batch_id": batch.batch_id,
            "owner_id": batch.owner_id,
            "line": line,
            "raw": raw.decode(errors="replace"),
            "reason": reason,
            "at": batch.received_at,
        }
        for _doc_id, line, raw in _entries(batch)
    )
    result = {
        "state": BatchState.DONE.value,
        "indexed": 0,
        "dead_lettered": batch.received,
        "fallback": 0,
        "pending": 0,
        "processed_at": now(),
        "indices": [],
    }
    return _finish([(batch, result)])


def _with(batch: Batch, **changes) -> Batch:
    return Batch.from_document({**batch.to_document(), **changes})


def _entries(batch: Batch) -> Iterator[tuple[str, int, bytes]]:
    """(document id, line, raw) of each accepted line of the batch, as the request wrote them."""
    for entry in files.batch_lines(batch.file):
        doc_id, line, raw = entry.rstrip(b"\n").split(b"\t", 2)
        yield doc_id.decode(), int(line), raw


def _log_type(batch: Batch) -> str:
    """The stream's log type, or one guessed from the batch's first records when the stream names none."""
    if batch.log_type:
        return batch.log_type
    sample = []
    for _doc_id, _line, raw in _entries(batch):
        sample.append(orjson.loads(raw))
        if len(sample) == TYPE_SAMPLE:
            break
    return guess_log_type(infer_field_types(sample))


def _build(batch: Batch, prefix: str, log_type: str) -> tuple[list[_Built], dict[str, str]]:
    """Every accepted line as a ready-to-send document; and the reason of any that cannot be one, by id."""
    ingested_at = format_timestamp(batch.ingested_at)
    stamp = {"owner": str(batch.owner_id), "stream": batch.stream, "stream_id": batch.stream_id}
    built, unbuilt = [], {}
    for doc_id, line, raw in _entries(batch):
        record = orjson.loads(raw)
        try:
            doc = build_document(record, timestamp_field=timestamp_field_of(record), numeric={}, log_type=log_type)
        except RecordError as error:
            unbuilt[doc_id] = str(error)
            continue
        doc.update(stamp)
        doc["line"], doc["ingested_at"] = line, ingested_at
        geoip.enrich(doc)
        index = daily_index(prefix, doc["@timestamp"])
        pair = encode_with_id(doc, index=index, doc_id=doc_id)
        built.append(_Built(doc_id, line, doc["@timestamp"][:10], index, pair))
    return built, unbuilt


def _within_limits(es: Elasticsearch, works: list[_Work]) -> None:
    """Set aside, batch by batch, the documents that may not be indexed: days past the limit of one batch, or new
    days the cluster's shard budget has no room for (the shared rules of ingestion/indices.py)."""
    needed = {item.index for work in works for item in work.built}
    known = daily_indices_known(es, settings.LOGS_INDEX_PREFIX, needed) if needed else set()
    usage = None
    for work in works:
        reasons, new = _day_limits(work, known)
        if new:
            usage = usage or shard_usage(es, reserve=settings.LOGS_SHARD_RESERVE)
            days = len({item.day for item in work.built} - set(reasons))
            refusal = headroom_refusal(usage, new_indices=len(new), job_days=days, subject="This batch's events")
            if refusal:
                reasons.update(dict.fromkeys(new.values(), refusal))
            else:
                # The next batch of the run counts these as made: they are, by the time it is sent.
                known |= set(new)
                usage = replace(usage, used=usage.used + len(new) * shards_per_index())
        if reasons:
            work.set_aside.update({item.doc_id: reasons[item.day] for item in work.built if item.day in reasons})
            work.built = [item for item in work.built if item.day not in reasons]


def _day_limits(work: _Work, known: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The days of a batch past LOGS_MAX_DAYS_PER_JOB (with the reason), and its kept days' indices not known to
    exist ({index: day})."""
    days = list(dict.fromkeys(item.day for item in work.built))
    limit = settings.LOGS_MAX_DAYS_PER_JOB
    reasons = {
        day: (
            f"This request's events for stream {work.batch.stream} fall on more than {limit} different days, the "
            f"most one batch may create (LOGS_MAX_DAYS_PER_JOB); its events on {day} were set aside."
        )
        for day in days[limit:]
    }
    kept = set(days[:limit])
    new = {item.index: item.day for item in work.built if item.day in kept and item.index not in known}
    return reasons, new


def _send(es: Elasticsearch, built: list[_Built]) -> dict[str, str]:
    """Index in bodies of at most 5,000 documents or about 10 MB; returns the rejections' reasons by id."""
    rejected: dict[str, str] = {}
    body: list[_Built] = []
    size = 0
    for item in [*built, None]:
        if body and (item is None or len(body) >= 5000 or size + len(item.pair) > 10 * 2**20):
            rejected.update(send(es, b"".join(part.pair for part in body), key=str).rejected)
            body, size = [], 0
        if item is not None:
            body.append(item)
            size += len(item.pair)
    return rejected


def _announce(work: _Work) -> None:
    """Put a batch's indexed documents on the live feed, once they are taken."""
    if work.built:
        live_feed_append(
            owner=str(work.batch.owner_id),
            ingested_at=format_timestamp(work.batch.ingested_at),
            source_field="stream_id",
            source_value=work.batch.stream_id,
            lines=(work.built[0].line, work.built[-1].line),
            count=len(work.built) - len(work.rejected),
        )


def _store_refusals(es: Elasticsearch, prefix: str, work: _Work) -> None:
    """Dead letters for the lines set aside, fallback documents for those Elasticsearch rejected (with their raw
    lines, read back from the batch)."""
    batch, letters, fallback = work.batch, [], {}
    for doc_id, line, raw in _entries(batch):
        text = raw.decode(errors="replace")
        if doc_id in work.set_aside:
            letters.append(
                {
                    "stream_id": batch.stream_id,
                    "batch_id": batch.batch_id,
                    "owner_id": batch.owner_id,
                    "line": line,
                    "raw": text,
                    "reason": work.set_aside[doc_id],
                    "at": batch.received_at,
                }
            )
        elif doc_id in work.rejected:
            fallback[doc_id] = {
                "stream_id": batch.stream_id,
                "stream": batch.stream,
                "line": line,
                "raw": text,
                "reason": work.rejected[doc_id],
            }
    write_fallback_documents(es, prefix, fallback)
    streams_repo.dead_letters_insert(letters)


# Housekeeping on beat: batches whose task was lost, and the outbox's "stream window closed" events.


def batches_sweep(*, at: dt.datetime) -> int:
    """Dispatch again the batches still queued a while after they were received (the broker was down, a task was
    lost); each at most once per doubling of its age, so a stopped worker does not flood the queue.

    Also mends the queue list after a process died between its two writes: a batch still queued is put back on
    it, and a done one taken off."""
    redispatched = 0
    queued = streams_repo.batches_queued_before(at - REDISPATCH_AFTER)
    streams_repo.queue_add(queued)
    listed = streams_repo.queue_received_before(at - REDISPATCH_AFTER)
    waiting = {batch.batch_id for batch in streams_repo.batches_get(listed) if batch.state != BatchState.DONE}
    streams_repo.queue_remove([batch_id for batch_id in listed if batch_id not in waiting])
    for batch in queued:
        age = (at - batch.received_at) / REDISPATCH_AFTER
        step = max(0, int(age).bit_length() - 1)  # 1 at 2-4 min, 2 at 4-8 min, ...
        if repo.claim(batch.batch_id, "stream-redispatch", f"redispatch:{batch.batch_id}:{step}"):
            redispatched += dispatch_stream_batch(batch.batch_id)
    return redispatched


def _window_start(moment: dt.datetime, size: dt.timedelta) -> dt.datetime:
    seconds = size.total_seconds()
    return dt.datetime.fromtimestamp(moment.timestamp() // seconds * seconds, dt.UTC)


def _window_event_id(stream_id: str, start: dt.datetime) -> str:
    return f"{stream_id}:{start:%Y%m%dT%H%M}:window"


def stream_windows_close(*, at: dt.datetime) -> int:
    """Record a "stream window closed" event for each stream with batches processed in a window that has ended
    (windows of STREAM_WINDOW_MINUTES, by `ingested_at`), once all of them are done; returns how many were new.

    Consumers (fraud screening) read it like a finished job: the stream's events ingested in that window.
    """
    size = dt.timedelta(minutes=settings.STREAM_WINDOW_MINUTES)
    end = _window_start(at - WINDOW_GRACE, size)
    windows: dict[tuple[str, dt.datetime], list[Batch]] = {}
    for batch in streams_repo.batches_ingested_between(end - WINDOW_LOOKBACK, end):
        windows.setdefault((batch.stream_id, _window_start(batch.ingested_at, size)), []).append(batch)
    ready = {
        key: batches
        for key, batches in sorted(windows.items())
        # A window with a batch still running is closed on a later pass.
        if all(batch.state == BatchState.DONE for batch in batches) and repo.event_get(_window_event_id(*key)) is None
    }
    if ready:
        # Consumers search the window's documents at once: make the last batches' ones searchable first.
        refresh(get_es(), settings.LOGS_INDEX_PREFIX)
    closed = 0
    for (stream_id, start), batches in ready.items():
        event = {
            "_id": _window_event_id(stream_id, start),
            "kind": STREAM_WINDOW_CLOSED,
            "stream_id": stream_id,
            "stream": batches[0].stream,
            "owner_id": batches[0].owner_id,
            "window_from": start,
            "window_to": start + size,
            "counts": {
                name: sum(getattr(batch, name) for batch in batches)
                for name in ("received", "indexed", "dead_lettered", "fallback")
            },
            "created_at": at,
        }
        if repo.event_record_once(event):
            notify_job_finished(event["_id"])
            closed += 1
    return closed
