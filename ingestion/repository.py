"""The job repository: the only code touching the job collections in MongoDB.

Collections: `uploads` (one document per upload, holding its job), `claims`, `chunks` (per-chunk
results of the running attempt), `dead_letters`, `job_events` (the "job finished" outbox that
other apps consume) with `job_event_claims`, and `task_starts` (one per delivery of a stage task, with
its heartbeat). One outage policy: any MongoDB connection failure becomes ServiceUnavailable,
which the API answers with 503 and the tasks retry.

Works the same on MongoDB 7 and on FerretDB 1.x. FerretDB applies updates by read-modify-write, so
concurrent updates of one document can overwrite each other, and it loses concurrent `$inc`s: only one
writer at a time touches a job document (the request, then validate/preview/split, then the single
finalizer; once it is finished, whoever holds its "busy" claim: a retry, a deletion or a re-index), and
exclusivity comes from claims, which are unique inserts (atomic on both servers).
"""

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from config.errors import ServiceUnavailable
from config.mongo import TRANSIENT_ERRORS, get_database
from ingestion.data_version import jobs_version_bump
from ingestion.enums import FINISHED, LEGAL_TRANSITIONS, JobStatus
from ingestion.job import FIELD_NAMES, Job, to_stored

UPLOADS = "uploads"
CLAIMS = "claims"
CHUNKS = "chunks"
DEAD_LETTERS = "dead_letters"
JOB_EVENTS = "job_events"
EVENT_CLAIMS = "job_event_claims"
TASK_STARTS = "task_starts"


class IllegalTransition(ValueError):
    pass


@contextmanager
def _collection(name: str) -> Iterator[Collection]:
    try:
        yield get_database()[name]
    except TRANSIENT_ERRORS as error:
        raise ServiceUnavailable(f"The job database is unavailable ({type(error).__name__})") from error


# The indexes behind each query of this module (key lists as pymongo takes them); `_id` lookups need none.
INDEXES = {
    UPLOADS: [
        ([("file_id", 1)], {"unique": True}),
        # Job lists: an owner's or everyone's, filtered by status or not, newest first; the dashboard's counts.
        ([("owner_id", 1), ("created_at", -1)], {}),
        ([("owner_id", 1), ("status", 1), ("created_at", -1)], {}),
        ([("status", 1), ("created_at", -1)], {}),
        ([("created_at", -1)], {}),
        # The watchdog: pending by dispatch time, processing by start time.
        ([("status", 1), ("dispatched_at", 1)], {}),
        ([("status", 1), ("started_at", 1)], {}),
        ([("owner_id", 1), ("sha256", 1), ("created_at", -1)], {}),
        ([("finished_at", 1)], {}),
    ],
    CLAIMS: [([("job_id", 1), ("kind", 1)], {})],
    CHUNKS: [([("job_id", 1), ("attempt", 1)], {})],
    DEAD_LETTERS: [([("job_id", 1), ("line", 1)], {}), ([("job_id", 1), ("chunk", 1)], {})],
    JOB_EVENTS: [([("created_at", 1)], {})],
    TASK_STARTS: [([("task_id", 1)], {}), ([("job_id", 1)], {})],
}


def ensure_indexes() -> list[tuple[str, str, bool]]:
    """Create the indexes that are missing; returns (collection, index, created) for each, so a rerun creates none."""
    report = []
    for name, indexes in INDEXES.items():
        with _collection(name) as collection:
            existing = set(collection.index_information())
            for keys, options in indexes:
                index = collection.create_index(keys, **options)
                report.append((name, index, index not in existing))
    return report


# Jobs


def _job(document: dict | None) -> Job | None:
    return Job.from_document(document) if document is not None else None


def _stored_changes(changes: dict) -> dict:
    """Changes keyed by Job field (or `stages.<name>`), checked and converted; a typo fails loudly."""
    for name in changes:
        if name.split(".", 1)[0] not in FIELD_NAMES:
            raise KeyError(f"Job has no field {name!r}")
    return {name: to_stored(name, value) for name, value in changes.items()}


def job_insert(job: Job) -> None:
    with _collection(UPLOADS) as uploads:
        uploads.insert_one(job.to_document())
    jobs_version_bump()


def job_get(job_id: str) -> Job | None:
    with _collection(UPLOADS) as uploads:
        return _job(uploads.find_one({"_id": job_id}))


def jobs_get(job_ids: list[str]) -> list[Job]:
    with _collection(UPLOADS) as uploads:
        return [Job.from_document(document) for document in uploads.find({"_id": {"$in": job_ids}})]


def job_get_by_file(file_id: str) -> Job | None:
    with _collection(UPLOADS) as uploads:
        return _job(uploads.find_one({"file_id": file_id}))


def job_latest_with_file(*, owner_id: int, sha256: str) -> Job | None:
    """The owner's most recent job of a file with this content, if any."""
    with _collection(UPLOADS) as uploads:
        found = list(uploads.find({"owner_id": owner_id, "sha256": sha256}).sort("created_at", DESCENDING).limit(1))
    return Job.from_document(found[0]) if found else None


def job_page(
    *, owner_id: int | None, status: str | None, search: str | None, skip: int, limit: int
) -> tuple[list[Job], int]:
    """A page of jobs, newest first; `search` matches part of the file name, or a whole job or file id."""
    query: dict = {}
    if owner_id is not None:
        query["owner_id"] = owner_id
    if status:
        query["status"] = status
    if search:
        name = {"filename": {"$regex": _literal_pattern(search), "$options": "i"}}
        query["$or"] = [name, {"_id": search}, {"file_id": search}]
    with _collection(UPLOADS) as uploads:
        total = uploads.count_documents(query)
        documents = list(uploads.find(query).sort("created_at", DESCENDING).skip(skip).limit(limit))
    return [Job.from_document(document) for document in documents], total


def _literal_pattern(text: str) -> str:
    # Users search names, not regular expressions.
    return "".join(f"\\{char}" if not char.isalnum() else char for char in text)


def jobs_stale(*, status: JobStatus, before: dt.datetime, field: str) -> list[Job]:
    """Jobs in `status` whose `field` (a timestamp) is older than `before`: the watchdog's work list."""
    with _collection(UPLOADS) as uploads:
        return [
            Job.from_document(document) for document in uploads.find({"status": status.value, field: {"$lt": before}})
        ]


def jobs_finished_before(*, before: dt.datetime, owner_id: int | None = None) -> list[Job]:
    """Finished jobs uploaded before a moment (retention's candidates): a pending or running job is never among them."""
    query: dict = {"created_at": {"$lt": before}, "status": {"$in": [status.value for status in FINISHED]}}
    if owner_id is not None:
        query["owner_id"] = owner_id
    with _collection(UPLOADS) as uploads:
        return [Job.from_document(document) for document in uploads.find(query)]


def storage_by_owner() -> dict[int, dict]:
    """Per owner: jobs, the uploaded files still stored (retention may have deleted some) and their bytes, and the
    rejected rows kept.

    Summed here from a few fields per job: FerretDB 1.x has no $ifNull to group on in the database.
    """
    found: dict[int, dict] = {}
    fields = {"owner_id": 1, "file_size": 1, "counts.dead_lettered": 1, "retention": 1}
    with _collection(UPLOADS) as uploads:
        for row in uploads.find({}, fields):
            figures = found.setdefault(row["owner_id"], {"jobs": 0, "files": 0, "file_bytes": 0, "dead_letters": 0})
            removed = row.get("retention") or {}
            figures["jobs"] += 1
            if not removed.get("file_deleted_at"):
                figures["files"] += 1
                figures["file_bytes"] += row.get("file_size", 0)
            if not removed.get("dead_letters_deleted_at"):
                figures["dead_letters"] += (row.get("counts") or {}).get("dead_lettered", 0)
    return found


def jobs_finished_since(*, owner_id: int | None, since: dt.datetime) -> list[dict]:
    """When each job finished, its counts and its elapsed time: only these fields, not the whole job (the dashboard
    reads them on every refresh, and a job's record carries its preview, field types and daily indices)."""
    query: dict = {"finished_at": {"$gte": since}}
    if owner_id is not None:
        query["owner_id"] = owner_id
    fields = {"finished_at": 1, "counts": 1, "stages.elapsed_ms": 1}
    with _collection(UPLOADS) as uploads:
        return list(uploads.find(query, fields).sort("finished_at", 1))


def jobs_count_by_status(*, owner_id: int | None) -> dict[str, int]:
    """Jobs per status, from one pass over the collection ($group with $sum, which FerretDB supports)."""
    query = {} if owner_id is None else {"owner_id": owner_id}
    pipeline = [{"$match": query}, {"$group": {"_id": "$status", "count": {"$sum": 1}}}]
    with _collection(UPLOADS) as uploads:
        found = {row["_id"]: row["count"] for row in uploads.aggregate(pipeline)}
    return {status.value: found.get(status.value, 0) for status in JobStatus}


def jobs_figures() -> Iterator[dict]:
    """Every job's log type, status, counts and stage timings (only these fields): the metrics' scrape-time source."""
    fields = {"_id": 0, "log_type": 1, "status": 1, "counts": 1, "stages": 1}
    with _collection(UPLOADS) as uploads:
        yield from uploads.find({}, fields)


def job_update(job_id: str, changes: dict) -> None:
    with _collection(UPLOADS) as uploads:
        uploads.update_one({"_id": job_id}, {"$set": _stored_changes(changes)})
    jobs_version_bump()


def job_transition(job_id: str, *, to: JobStatus, changes: dict | None = None) -> bool:
    """Move a job to status `to` if that is a legal step from where it is; False if it is already there."""
    with _collection(UPLOADS) as uploads:
        current = uploads.find_one({"_id": job_id}, {"status": 1})
        if current is None or current["status"] == to:
            return False
        if to not in LEGAL_TRANSITIONS[JobStatus(current["status"])]:
            raise IllegalTransition(f"{current['status']} -> {to}")
        result = uploads.update_one(
            {"_id": job_id, "status": current["status"]},
            {"$set": {"status": to.value, **_stored_changes(changes or {})}},
        )
    jobs_version_bump()
    return result.modified_count == 1


def job_delete(job_id: str) -> None:
    with _collection(UPLOADS) as uploads:
        uploads.delete_one({"_id": job_id})
    jobs_version_bump()


# Claims: the first inserter of a key owns the work, any later one gets False.


def claim(job_id: str, kind: str, key: str, holder: str | None = None) -> bool:
    """Take the work named `key`; False when somebody else already took it.

    A `holder` (a task id) that took the claim before gets it again: a redelivery after a crash.
    """
    with _collection(CLAIMS) as claims:
        try:
            claims.insert_one({"_id": key, "job_id": job_id, "kind": kind, "holder": holder})
        except DuplicateKeyError:
            if holder is None:
                return False
            existing = claims.find_one({"_id": key}, {"holder": 1})
            return existing is not None and existing.get("holder") == holder
    return True


def claim_holder(job_id: str, kind: str, key: str, holder: str) -> str:
    """Take the claim `key` for `holder` if it is free; returns whoever holds it now (`holder` if this call took it)."""
    with _collection(CLAIMS) as claims:
        try:
            claims.insert_one({"_id": key, "job_id": job_id, "kind": kind, "holder": holder})
        except DuplicateKeyError:
            return claims.find_one({"_id": key}, {"holder": 1})["holder"]
    return holder


def claim_holders(job_id: str, kind: str) -> dict[str, str]:
    """The holder of each claim of this kind, by key."""
    with _collection(CLAIMS) as claims:
        return {row["_id"]: row["holder"] for row in claims.find({"job_id": job_id, "kind": kind}, {"holder": 1})}


def count_claims(job_id: str, kind: str) -> int:
    with _collection(CLAIMS) as claims:
        return claims.count_documents({"job_id": job_id, "kind": kind})


def busy_claim(job_id: str, holder: str, *, stale_before: dt.datetime) -> bool:
    """Take the job's one "busy" claim for `holder` (a retry, a deletion or a re-index changing a finished job).

    False while another holder has it, unless that holder last showed life before `stale_before` (its task was
    lost): then it is taken over. Deleting by holder and time, then inserting, keeps the takeover to one taker.
    """
    key = f"busy:{job_id}"
    with _collection(CLAIMS) as claims:
        for _ in range(2):
            try:
                claims.insert_one({"_id": key, "job_id": job_id, "kind": "busy", "holder": holder, "at": _now()})
                return True
            except DuplicateKeyError:
                existing = claims.find_one({"_id": key}) or {}
                if existing.get("holder") == holder:
                    return True
                if existing and existing["at"] >= stale_before:
                    return False
                claims.delete_one({"_id": key, "holder": existing.get("holder"), "at": existing.get("at")})
    return False


def busy_renew(job_id: str, holder: str) -> bool:
    """Show the busy claim's holder is alive (its time moves on); False when it no longer holds the claim."""
    with _collection(CLAIMS) as claims:
        return (
            claims.update_one({"_id": f"busy:{job_id}", "holder": holder}, {"$set": {"at": _now()}}).matched_count == 1
        )


def busy_release(job_id: str, holder: str) -> None:
    with _collection(CLAIMS) as claims:
        claims.delete_one({"_id": f"busy:{job_id}", "holder": holder})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def release_claims(job_id: str, keep: str | None = None) -> None:
    """Drop a job's claims (a new attempt starts clean), except the one named `keep`."""
    with _collection(CLAIMS) as claims:
        claims.delete_many({"job_id": job_id, "_id": {"$ne": keep}} if keep else {"job_id": job_id})


def release_claims_of(job_ids: list[str]) -> None:
    """Drop every claim of these jobs (stream batches processed together) in one request."""
    with _collection(CLAIMS) as claims:
        claims.delete_many({"job_id": {"$in": job_ids}})


# Task starts: one per delivery of a stage task, with a heartbeat while it runs (services/deliveries.py).


def task_start(*, task_id: str, job_id: str, tries: int, at: dt.datetime) -> str:
    """Record that a delivery of this task starts (its `tries`-th retry); returns the record's id."""
    return task_starts_many(tasks={task_id: job_id}, tries=tries, at=at)[task_id]


def task_starts_many(*, tasks: dict[str, str], tries: int, at: dt.datetime) -> dict[str, str]:
    """Record the start of a delivery of each task ({task_id: job_id}) in one request; returns {task_id: start_id}."""
    start_ids = {task_id: uuid.uuid4().hex for task_id in tasks}
    rows = [
        {"_id": start_ids[task_id], "task_id": task_id, "job_id": job_id, "tries": tries, "at": at, "beat_at": at}
        for task_id, job_id in tasks.items()
    ]
    with _collection(TASK_STARTS) as starts:
        starts.insert_many([{**row, "done": False} for row in rows])
    return start_ids


def task_starts_of(task_id: str) -> list[dict]:
    with _collection(TASK_STARTS) as starts:
        return list(starts.find({"task_id": task_id}))


def task_starts_of_many(task_ids: list[str]) -> list[dict]:
    with _collection(TASK_STARTS) as starts:
        return list(starts.find({"task_id": {"$in": task_ids}}))


def task_beat(start_ids: list[str], at: dt.datetime) -> None:
    # Only the delivery's own heartbeat writes its records while it runs (they are marked done after the
    # heartbeat stops), so FerretDB's read-modify-write updates lose nothing here.
    with _collection(TASK_STARTS) as starts:
        starts.update_many({"_id": {"$in": start_ids}}, {"$set": {"beat_at": at}})


def task_done(start_id: str) -> None:
    with _collection(TASK_STARTS) as starts:
        starts.update_one({"_id": start_id}, {"$set": {"done": True}})


def task_last_beat(job_id: str) -> dt.datetime | None:
    """The latest heartbeat of any task of the job, if one ever started."""
    with _collection(TASK_STARTS) as starts:
        found = list(starts.find({"job_id": job_id}, {"beat_at": 1}).sort("beat_at", DESCENDING).limit(1))
    return found[0]["beat_at"] if found else None


def task_start_delete(start_id: str) -> None:
    with _collection(TASK_STARTS) as starts:
        starts.delete_one({"_id": start_id})


def task_starts_delete(job_id: str) -> None:
    with _collection(TASK_STARTS) as starts:
        starts.delete_many({"job_id": job_id})


def task_starts_delete_of(job_ids: list[str]) -> None:
    """Every start of these jobs' tasks (stream batches finished together), in one request."""
    with _collection(TASK_STARTS) as starts:
        starts.delete_many({"job_id": {"$in": job_ids}})


def task_starts_delete_ids(start_ids: list[str]) -> None:
    with _collection(TASK_STARTS) as starts:
        starts.delete_many({"_id": {"$in": start_ids}})


# Chunk results of one attempt


def chunk_save(job_id: str, attempt: int, number: int, fields: dict) -> None:
    with _collection(CHUNKS) as chunks:
        chunks.update_one(
            {"_id": f"{job_id}:{attempt}:{number}"},
            {"$set": {"job_id": job_id, "attempt": attempt, "number": number, **fields}},
            upsert=True,
        )


def chunk_get(job_id: str, attempt: int, number: int) -> dict | None:
    with _collection(CHUNKS) as chunks:
        return chunks.find_one({"_id": f"{job_id}:{attempt}:{number}"})


def chunks_of(job_id: str, attempt: int) -> list[dict]:
    with _collection(CHUNKS) as chunks:
        return list(chunks.find({"job_id": job_id, "attempt": attempt}))


def chunks_delete(job_id: str) -> None:
    with _collection(CHUNKS) as chunks:
        chunks.delete_many({"job_id": job_id})


# Dead letters


def dead_letters_replace(job_id: str, chunk: int, rows: list[dict]) -> None:
    """Store a chunk's unparseable rows; re-running the chunk replaces them instead of adding copies."""
    with _collection(DEAD_LETTERS) as letters:
        letters.delete_many({"job_id": job_id, "chunk": chunk})
        if rows:
            letters.insert_many([{**row, "job_id": job_id, "chunk": chunk} for row in rows], ordered=False)


def dead_letters_page(job_id: str, *, skip: int, limit: int) -> list[dict]:
    with _collection(DEAD_LETTERS) as letters:
        return list(letters.find({"job_id": job_id}, {"_id": 0}).sort("line", 1).skip(skip).limit(limit))


def dead_letters_iter(job_id: str) -> Iterator[dict]:
    """Every dead letter of a job in line order, read in pages so memory stays flat."""
    skip, page = 0, 1000
    while rows := dead_letters_page(job_id, skip=skip, limit=page):
        yield from rows
        skip += page


def dead_letters_count(job_id: str) -> int:
    with _collection(DEAD_LETTERS) as letters:
        return letters.count_documents({"job_id": job_id})


def dead_letters_count_by_job(job_ids: list[str]) -> dict[str, int]:
    """Dead letters per job, for these jobs ($group with $sum, which FerretDB supports)."""
    pipeline = [{"$match": {"job_id": {"$in": job_ids}}}, {"$group": {"_id": "$job_id", "count": {"$sum": 1}}}]
    with _collection(DEAD_LETTERS) as letters:
        return {row["_id"]: row["count"] for row in letters.aggregate(pipeline)}


def dead_letters_delete(job_id: str) -> None:
    with _collection(DEAD_LETTERS) as letters:
        letters.delete_many({"job_id": job_id})


# The "job finished" outbox: one event per finished attempt; consumers claim each event once.


def event_record(*, job: Job, status: JobStatus, at: dt.datetime, occasion: str = "finished") -> str:
    """Record that an attempt finished (or, `occasion` "reindex-N", finished again with its set-aside rows moved
    into the daily indices); returns the event's id (the same id however often it is told)."""
    event = {
        "_id": f"{job.job_id}:{job.attempt}:{occasion}",
        "kind": "job.finished",
        "job_id": job.job_id,
        "file_id": job.file_id,
        "owner_id": job.owner_id,
        "attempt": job.attempt,
        "status": status.value,
        "created_at": at,
    }
    # The same attempt finishing twice (a redelivered task) still makes one event.
    with _collection(JOB_EVENTS) as events, suppress(DuplicateKeyError):
        events.insert_one(event)
    return event["_id"]


def event_record_once(event: dict) -> bool:
    """Record an outbox event of another kind (a stream's window closed) under its own `_id`; False when an event
    with that id was recorded before, so telling it twice notifies once."""
    with _collection(JOB_EVENTS) as events:
        try:
            events.insert_one(event)
        except DuplicateKeyError:
            return False
    return True


def event_get(event_id: str) -> dict | None:
    with _collection(JOB_EVENTS) as events:
        return events.find_one({"_id": event_id})


def events_since(since: dt.datetime, *, skip: int = 0, limit: int = 500) -> list[dict]:
    with _collection(JOB_EVENTS) as events:
        found = events.find({"created_at": {"$gte": since}}).sort([("created_at", 1), ("_id", 1)])
        return list(found.skip(skip).limit(limit))


def events_unmarked(consumer: str, *, since: dt.datetime, until: dt.datetime, limit: int) -> list[dict]:
    """Events between two moments not marked as claimed by this consumer, oldest first.

    The filter runs in MongoDB, so claimed events never crowd the unclaimed ones out of the page.
    """
    query = {"created_at": {"$gte": since, "$lte": until}, "claimed_by": {"$ne": consumer}}
    with _collection(JOB_EVENTS) as events:
        return list(events.find(query).sort("created_at", 1).limit(limit))


def events_mark(event_ids: list[str], consumer: str) -> None:
    with _collection(JOB_EVENTS) as events:
        events.update_many({"_id": {"$in": event_ids}}, {"$addToSet": {"claimed_by": consumer}})


def event_claimed(event_ids: list[str], consumer: str) -> set[str]:
    """Which of these events the consumer has already claimed."""
    with _collection(EVENT_CLAIMS) as claims:
        keys = [f"{consumer}:{event_id}" for event_id in event_ids]
        return {row["event_id"] for row in claims.find({"_id": {"$in": keys}}, {"event_id": 1})}


def event_claim(event_id: str, consumer: str) -> bool:
    """Take one event for one consumer; False when that consumer already has it.

    The unique claim is the truth. The mark on the event (`claimed_by`) only lets the sweep query the
    unclaimed ones; FerretDB 1.x may lose a mark written concurrently with another consumer's, and the
    sweep sets it again when it finds the claim.
    """
    with _collection(EVENT_CLAIMS) as claims:
        try:
            claims.insert_one({"_id": f"{consumer}:{event_id}", "consumer": consumer, "event_id": event_id})
        except DuplicateKeyError:
            return False
    with _collection(JOB_EVENTS) as events:
        events.update_one({"_id": event_id}, {"$addToSet": {"claimed_by": consumer}})
    return True
