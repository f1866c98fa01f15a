"""The stream repository: the only code touching the stream collections in MongoDB.

Collections: `streams` (one document per stream), `stream_batches` (one per request and stream: its counts
and state), `stream_queue` (the batches not indexed yet), `stream_dead_letters`. Same outage policy as the job
repository: a MongoDB connection failure becomes ServiceUnavailable (503 in the API, a retry in tasks).

FerretDB 1.x loses concurrent `$inc`s and conditional updates, so nothing here counts on a shared document:
a stream's counters are its batches' counts summed with `$group`/`$sum` (which FerretDB runs), each batch
written by one writer at a time (the request, then its one task). Inserts with deterministic ids make
every write safe to repeat.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import suppress

from pymongo import DESCENDING, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

# The job repository's collection access and its outage policy, shared.
from ingestion.repository import _collection
from ingestion.stream import STREAM_COUNT_NAMES, Batch, BatchState, Stream

STREAMS = "streams"
BATCHES = "stream_batches"
DEAD_LETTERS = "stream_dead_letters"
# The queued batches again, each as {_id: batch id, owner_id, received_at, accepted}, for the reads made on every
# request (backpressure) and every task (the batches it takes along). FerretDB 1.x filters on anything but `_id`
# by reading the whole collection, and stream_batches gains a document per request for as long as retention keeps
# them: on it those reads took 50 ms with 360 batches, and a second under load. This one is as short as the queue.
QUEUE = "stream_queue"
DUPLICATE_KEY = 11000
UNFINISHED = {"state": BatchState.QUEUED.value}


INDEXES = {
    STREAMS: [([("owner_id", 1), ("name", 1)], {})],
    BATCHES: [
        ([("stream_id", 1), ("day", 1)], {}),
        ([("owner_id", 1), ("day", 1)], {}),
        ([("state", 1), ("owner_id", 1)], {}),
        ([("ingested_at", 1)], {}),
        ([("owner_id", 1), ("received_at", 1)], {}),
    ],
    DEAD_LETTERS: [([("stream_id", 1), ("at", 1)], {})],
}


def ensure_indexes() -> list[tuple[str, str, bool]]:
    """Create the indexes that are missing; returns (collection, index, created) for each, as the job repository."""
    report = []
    for name, indexes in INDEXES.items():
        with _collection(name) as collection:
            existing = set(collection.index_information())
            for keys, options in indexes:
                index = collection.create_index(keys, **options)
                report.append((name, index, index not in existing))
    return report


# Streams


def stream_insert(stream: Stream) -> None:
    """Record a stream the first time it is used; a second insert (another request, a race) changes nothing."""
    with _collection(STREAMS) as streams, suppress(DuplicateKeyError):
        streams.insert_one(stream.to_document())


def stream_get(stream_id: str) -> Stream | None:
    with _collection(STREAMS) as streams:
        document = streams.find_one({"_id": stream_id})
    return Stream.from_document(document) if document else None


def streams_of(owner_id: int | None) -> list[Stream]:
    """An owner's streams (None: everyone's), by name."""
    query = {} if owner_id is None else {"owner_id": owner_id}
    with _collection(STREAMS) as streams:
        return [Stream.from_document(document) for document in streams.find(query).sort([("name", 1), ("_id", 1)])]


# Batches


def batch_insert(batch: Batch) -> bool:
    """Record a received batch (and queue it unless it is done); False when this very batch (same id: the same
    lines again) was recorded before."""
    with _collection(BATCHES) as batches:
        try:
            batches.insert_one(batch.to_document())
        except DuplicateKeyError:
            return False
    if batch.state == BatchState.QUEUED:
        queue_add([batch])
    return True


def batch_get(batch_id: str) -> Batch | None:
    with _collection(BATCHES) as batches:
        document = batches.find_one({"_id": batch_id})
    return Batch.from_document(document) if document else None


def batches_get(batch_ids: list[str]) -> list[Batch]:
    """These batches, in the order asked (those not found left out)."""
    # One read by `_id` each: FerretDB 1.x answers an `_id` `$in` by reading the whole collection.
    found = [batch_get(batch_id) for batch_id in batch_ids]
    return [batch for batch in found if batch is not None]


def batch_update(batch_id: str, changes: dict) -> None:
    with _collection(BATCHES) as batches:
        batches.update_one({"_id": batch_id}, {"$set": changes})


def batches_update(changes: dict[str, dict]) -> None:
    """Set each batch's changes ({batch_id: changes}) in one request; each batch has one writer, as above."""
    if changes:
        with _collection(BATCHES) as batches:
            batches.bulk_write([UpdateOne({"_id": key}, {"$set": value}) for key, value in changes.items()])


def batches_unfinished(*, owner_id: int | None = None) -> int:
    """How many batches are queued (everyone's, or one owner's): what the endpoint's backpressure counts."""
    query = {} if owner_id is None else {"owner_id": owner_id}
    with _collection(QUEUE) as queue:
        return queue.count_documents(query)


def batches_queued_oldest(limit: int) -> list[tuple[str, int]]:
    """(batch id, accepted lines) of the `limit` queued batches received first: what a task takes along."""
    with _collection(QUEUE) as queue:
        found = queue.find({}, {"accepted": 1}).sort([("received_at", 1), ("_id", 1)]).limit(limit)
        return [(document["_id"], document["accepted"]) for document in found]


def queue_add(batches: Iterable[Batch]) -> None:
    """Put batches on the queue; one already there is left as it is."""
    entries = [
        {
            "_id": batch.batch_id,
            "owner_id": batch.owner_id,
            "received_at": batch.received_at,
            "accepted": batch.accepted,
        }
        for batch in batches
    ]
    if entries:
        _insert_new(QUEUE, entries)


def queue_remove(batch_ids: list[str]) -> None:
    if batch_ids:
        with _collection(QUEUE) as queue:
            queue.delete_many({"_id": {"$in": batch_ids}})


def queue_received_before(moment: dt.datetime) -> list[str]:
    """Ids of the queued batches received before `moment`: those the sweeper checks."""
    with _collection(QUEUE) as queue:
        return [document["_id"] for document in queue.find({"received_at": {"$lt": moment}}, {"_id": 1})]


def batches_queued_before(moment: dt.datetime) -> list[Batch]:
    """Unfinished batches last dispatched before `moment`: the sweeper's work list."""
    with _collection(BATCHES) as batches:
        found = batches.find({**UNFINISHED, "dispatched_at": {"$lt": moment}}).sort("received_at", 1)
        return [Batch.from_document(document) for document in found]


def batches_ingested_between(start: dt.datetime, end: dt.datetime) -> list[Batch]:
    """Batches whose processing started in [start, end), finished or not: the windows' material."""
    with _collection(BATCHES) as batches:
        found = batches.find({"ingested_at": {"$gte": start, "$lt": end}}, {"file": 0})
        return [Batch.from_document(document) for document in found]


def batches_received_since(stream_id: str, since: dt.datetime) -> list[Batch]:
    with _collection(BATCHES) as batches:
        found = batches.find({"stream_id": stream_id, "received_at": {"$gte": since}}, {"file": 0})
        return [Batch.from_document(document) for document in found]


def batch_latest(stream_id: str) -> Batch | None:
    with _collection(BATCHES) as batches:
        found = list(batches.find({"stream_id": stream_id}).sort("received_at", DESCENDING).limit(1))
    return Batch.from_document(found[0]) if found else None


def counts_per_day(*, since_day: str, stream_id: str | None = None, owner_id: int | None = None) -> list[dict]:
    """Summed counts per (stream, day) from `since_day` on: [{"stream_id", "day", "batches", received, ...}]."""
    match: dict = {"day": {"$gte": since_day}}
    if stream_id is not None:
        match["stream_id"] = stream_id
    if owner_id is not None:
        match["owner_id"] = owner_id
    rows: dict[tuple[str, str], dict] = {}
    # One pipeline per count: FerretDB 1.x computes only the first accumulator of a $group (the others come back 0).
    # `pending` first: a batch finishing between two pipelines can only make the others newer, so once pending is 0
    # the counts add up.
    for name in ("pending", *(name for name in STREAM_COUNT_NAMES if name != "pending"), "batches"):
        group = {"$group": {"_id": {"stream_id": "$stream_id", "day": "$day"}, "value": {"$sum": f"${name}"}}}
        with _collection(BATCHES) as batches:
            for row in batches.aggregate([{"$match": match}, group]):
                key = (row["_id"]["stream_id"], row["_id"]["day"])
                rows.setdefault(key, {"stream_id": key[0], "day": key[1]})[name] = row["value"]
    return list(rows.values())


def counts_since(*, since: dt.datetime, owner_id: int | None) -> dict[str, int]:
    """Indexed, dead-lettered and fallback lines of the batches received since a moment (an owner's, or everyone's)."""
    match: dict = {"received_at": {"$gte": since}}
    if owner_id is not None:
        match["owner_id"] = owner_id
    totals = {}
    for name in ("indexed", "dead_lettered", "fallback"):  # one accumulator per pipeline, as above
        with _collection(BATCHES) as batches:
            rows = list(
                batches.aggregate([{"$match": match}, {"$group": {"_id": None, "value": {"$sum": f"${name}"}}}])
            )
        totals[name] = rows[0]["value"] if rows else 0
    return totals


def totals_by_log_type(names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per count name, every batch's count summed by the stream's log type: {"received": {"order": 120, ...}}."""
    totals = {}
    for name in names:  # one accumulator per pipeline, as above
        group = {"$group": {"_id": "$log_type", "value": {"$sum": f"${name}"}}}
        with _collection(BATCHES) as batches:
            totals[name] = {row["_id"] or "": row["value"] for row in batches.aggregate([group])}
    return totals


# Dead letters: ids are `<batch_id>:<line>`, so storing the same rows again (a second run) adds nothing.


def dead_letters_insert(rows: Iterable[dict]) -> None:
    page: list[dict] = []
    for row in rows:
        page.append({"_id": f"{row['batch_id']}:{row['line']}", **row})
        if len(page) == 1000:
            _insert_new(DEAD_LETTERS, page)
            page = []
    if page:
        _insert_new(DEAD_LETTERS, page)


def _insert_new(name: str, documents: list[dict]) -> None:
    """Insert the documents whose ids are new; those already there are left as they are."""
    with _collection(name) as collection:
        try:
            collection.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            if any(item.get("code") != DUPLICATE_KEY for item in error.details.get("writeErrors", [])):
                raise


def dead_letters_page(stream_id: str, *, skip: int, limit: int) -> list[dict]:
    with _collection(DEAD_LETTERS) as letters:
        found = letters.find({"stream_id": stream_id}, {"_id": 0}).sort([("at", 1), ("batch_id", 1), ("line", 1)])
        return list(found.skip(skip).limit(limit))


def dead_letters_iter(stream_id: str) -> Iterator[dict]:
    """Every dead letter of a stream in the order received, read in pages so memory stays flat."""
    skip, page = 0, 1000
    while rows := dead_letters_page(stream_id, skip=skip, limit=page):
        yield from rows
        skip += page


def dead_letters_count(stream_id: str) -> int:
    with _collection(DEAD_LETTERS) as letters:
        return letters.count_documents({"stream_id": stream_id})
