"""Pipeline state in MongoDB: claims, per-chunk results and dead letters. The only code touching them.

Claims are unique inserts: the first inserter of a key owns the work, any later one gets False. This
is atomic on MongoDB and on FerretDB alike (FerretDB 1.x loses concurrent $inc updates, so fan-in
counts "done" claims instead of incrementing a counter).
"""

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from config.mongo import get_database


def _claims() -> Collection:
    return get_database()["claims"]


def _chunks() -> Collection:
    return get_database()["chunks"]


def _dead_letters() -> Collection:
    return get_database()["dead_letters"]


def ensure_indexes() -> None:
    _claims().create_index([("job_id", 1), ("kind", 1)])
    _chunks().create_index("job_id")
    _dead_letters().create_index([("job_id", 1), ("line", 1)])


def claim(job_id: str, kind: str, key: str) -> bool:
    """Take the work named `key`; False when somebody already took it."""
    try:
        _claims().insert_one({"_id": key, "job_id": job_id, "kind": kind})
    except DuplicateKeyError:
        return False
    return True


def count_claims(job_id: str, kind: str) -> int:
    return _claims().count_documents({"job_id": job_id, "kind": kind})


def release_claims(job_id: str) -> None:
    _claims().delete_many({"job_id": job_id})


def chunk_save(job_id: str, attempt: int, number: int, fields: dict) -> None:
    _chunks().update_one(
        {"_id": f"{job_id}:{attempt}:{number}"},
        {"$set": {"job_id": job_id, "attempt": attempt, "number": number, **fields}},
        upsert=True,
    )


def chunks_of(job_id: str, attempt: int) -> list[dict]:
    return list(_chunks().find({"job_id": job_id, "attempt": attempt}))


def chunks_delete(job_id: str) -> None:
    _chunks().delete_many({"job_id": job_id})


def dead_letters_replace(job_id: str, chunk: int, rows: list[dict]) -> None:
    """Store a chunk's unparseable rows; re-running the chunk replaces them instead of adding copies."""
    _dead_letters().delete_many({"job_id": job_id, "chunk": chunk})
    if rows:
        _dead_letters().insert_many([{**row, "job_id": job_id, "chunk": chunk} for row in rows], ordered=False)


def dead_letters_page(job_id: str, *, skip: int, limit: int) -> list[dict]:
    return list(_dead_letters().find({"job_id": job_id}, {"_id": 0}).sort("line", 1).skip(skip).limit(limit))


def dead_letters_delete(job_id: str) -> None:
    _dead_letters().delete_many({"job_id": job_id})
