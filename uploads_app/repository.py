"""The uploads collection: one document per upload, holding its job state. The only code touching it.

Works the same on MongoDB 7 and on FerretDB 1.x. FerretDB applies updates by read-modify-write, so
concurrent updates of one document can overwrite each other: only one writer at a time touches an
upload (the request, then validate/preview/split, then the single finalizer); exclusivity comes from
ingestion's claims (unique inserts), not from conditional updates.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo import DESCENDING
from pymongo.collection import Collection

from config.errors import ServiceUnavailable
from config.mongo import TRANSIENT_ERRORS, get_database

FINISHED = ("completed", "completed_with_errors", "failed")
LEGAL_TRANSITIONS = {
    "pending": {"processing", "failed"},
    "processing": {"completed", "completed_with_errors", "failed", "pending"},
    "completed": {"pending"},
    "completed_with_errors": {"pending"},
    "failed": {"pending"},
}


class IllegalTransition(ValueError):
    pass


@contextmanager
def _store() -> Iterator[Collection]:
    """The collection, with any MongoDB failure turned into one 503 error for the API."""
    try:
        yield get_database()["uploads"]
    except TRANSIENT_ERRORS as error:
        raise ServiceUnavailable(f"The upload database is unavailable ({type(error).__name__})") from error


def ensure_indexes() -> None:
    with _store() as uploads:
        uploads.create_index("file_id", unique=True)
        uploads.create_index("status")
        uploads.create_index("created_at")
        uploads.create_index([("owner_id", 1), ("created_at", -1)])


def insert(upload: dict) -> None:
    with _store() as uploads:
        uploads.insert_one(upload)


def get(job_id: str) -> dict | None:
    with _store() as uploads:
        return uploads.find_one({"_id": job_id})


def get_by_file_id(file_id: str) -> dict | None:
    with _store() as uploads:
        return uploads.find_one({"file_id": file_id})


def page(*, owner_id: int | None, status: str | None, skip: int, limit: int) -> tuple[list[dict], int]:
    query: dict = {}
    if owner_id is not None:
        query["owner_id"] = owner_id
    if status:
        query["status"] = status
    with _store() as uploads:
        total = uploads.count_documents(query)
        items = list(uploads.find(query).sort("created_at", DESCENDING).skip(skip).limit(limit))
    return items, total


def stale(*, status: str, before: dt.datetime, field: str) -> list[dict]:
    """Uploads in `status` whose `field` (a timestamp) is older than `before`: the watchdog's work list."""
    with _store() as uploads:
        return list(uploads.find({"status": status, field: {"$lt": before}}))


def update(job_id: str, fields: dict) -> None:
    with _store() as uploads:
        uploads.update_one({"_id": job_id}, {"$set": fields})


def transition(job_id: str, *, to: str, fields: dict | None = None) -> bool:
    """Move an upload to status `to` if that is a legal step from where it is; False if it is already there."""
    with _store() as uploads:
        current = uploads.find_one({"_id": job_id}, {"status": 1})
        if current is None or current["status"] == to:
            return False
        if to not in LEGAL_TRANSITIONS[current["status"]]:
            raise IllegalTransition(f"{current['status']} -> {to}")
        result = uploads.update_one(
            {"_id": job_id, "status": current["status"]}, {"$set": {"status": to, **(fields or {})}}
        )
        return result.modified_count == 1


def delete(job_id: str) -> None:
    with _store() as uploads:
        uploads.delete_one({"_id": job_id})
