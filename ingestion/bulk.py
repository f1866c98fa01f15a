"""Bulk indexing into Elasticsearch: prebuilt NDJSON bodies, idempotent ids, transient vs rejected items."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, NamedTuple

import orjson
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch

from config.es import CLIENT_UNREACHABLE
from ingestion.documents import fallback_index
from ingestion.metrics import ES_BULK_SECONDS

# Succeeded items shrink to {"index":{"_id":..,"status":201}}; failed ones add the error's type and reason.
BULK_FILTER_PATH = "errors,items.*._id,items.*.status,items.*.error.type,items.*.error.reason"
DELETE_PAGE_SIZE = 5000
PIT_KEEP_ALIVE = "2m"


class TransientIndexError(Exception):
    """Elasticsearch could not take the request now (connection, timeout, 429, 5xx): retry it as a whole."""


# Everything that means "Elasticsearch is not answering now", wherever in the pipeline it is raised.
ES_UNREACHABLE = (TransientIndexError, *CLIENT_UNREACHABLE)


@dataclass
class BulkOutcome:
    indexed: int = 0
    # (line, reason) for an upload's documents, (_id, reason) for others: rejections not worth retrying.
    rejected: list[tuple[int | str, str]] = field(default_factory=list)


def document_id(file_id: str, line: int) -> str:
    """The same upload line always gets the same _id, so re-indexing overwrites instead of duplicating."""
    return f"{file_id}:{line}"


def line_of(doc_id: str) -> int:
    return int(doc_id.rpartition(":")[2])


def body_lines(body: bytes) -> tuple[int, int]:
    """The first and last upload line in a prebuilt body of one file's documents (in line order)."""
    first_action = body[: body.index(b"\n")]
    # The body ends "<last action>\n<last source>\n"; source lines hold no raw newline (JSON escapes them).
    last_action_end = body.rindex(b"\n", 0, len(body) - 1)
    last_action = body[body.rfind(b"\n", 0, last_action_end) + 1 : last_action_end]
    return _action_line(first_action), _action_line(last_action)


def _action_line(action: bytes) -> int:
    (target,) = orjson.loads(action).values()
    return line_of(target["_id"])


@lru_cache(maxsize=1024)
def _action_prefix(index: str) -> bytes:
    return b'{"index":{"_index":' + orjson.dumps(index) + b',"_id":'


def encode(doc: dict, *, index: str, file_id: str, line: int) -> bytes:
    """The action and source lines of one document of an upload in a `_bulk` body."""
    return encode_with_id(doc, index=index, doc_id=document_id(file_id, line))


def encode_with_id(doc: dict, *, index: str, doc_id: str) -> bytes:
    """The action and source lines of one document with a given `_id` in a `_bulk` body."""
    return _action_prefix(index) + orjson.dumps(doc_id) + b"}}\n" + orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE)


def _is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


# No fault of the row: an index deleted while the request ran (a retry creates it again), or one write-blocked
# for a moment while housekeeping checks whether it is empty (a retry finds it unblocked, or gone and recreated).
TRANSIENT_ITEM_ERRORS = frozenset({"index_not_found_exception", "cluster_block_exception"})


def _is_transient_item(status: int, error_type: str | None) -> bool:
    return _is_transient_status(status) or error_type in TRANSIENT_ITEM_ERRORS


@contextmanager
def transient_errors_as_retryable() -> Iterator[None]:
    try:
        yield
    except (ConnectionError, ConnectionTimeout) as error:
        raise TransientIndexError(f"Elasticsearch unreachable: {error}") from error
    except ApiError as error:
        if _is_transient_status(error.status_code):
            raise TransientIndexError(f"Elasticsearch answered {error.status_code}: {error.message}") from error
        raise


def _post_bulk(es: Elasticsearch, body: bytes) -> dict:
    started = time.perf_counter()
    with transient_errors_as_retryable():
        response = es.bulk(operations=body, filter_path=BULK_FILTER_PATH, refresh=False).body
    ES_BULK_SECONDS.observe(time.perf_counter() - started)
    return response


def send(es: Elasticsearch, body: bytes, *, key: Callable[[str], int | str] = line_of) -> BulkOutcome:
    """Index one prebuilt `_bulk` body; per-item mapping rejections are returned (each named by `key` of its
    `_id`: an upload's line by default), transient failures raised."""
    response = _post_bulk(es, body)
    if not response.get("errors"):
        return BulkOutcome(indexed=len(response.get("items", ())))
    outcome = BulkOutcome()
    transient = []
    for item in response["items"]:
        (result,) = item.values()
        status = result["status"]
        if status < 300:
            outcome.indexed += 1
            continue
        error = result.get("error", {})
        reason = f"{error.get('type', status)}: {error.get('reason', '')}"
        if _is_transient_item(status, error.get("type")):
            transient.append(reason)
        else:
            outcome.rejected.append((key(result["_id"]), reason))
    if transient:
        # Ids are deterministic: re-sending the whole body later is safe.
        raise TransientIndexError(f"{len(transient)} items failed transiently, first: {transient[0]}")
    return outcome


def iter_bodies(lines: IO[bytes], max_docs: int = 5000, max_bytes: int = 10 * 2**20) -> Iterator[bytes]:
    """Request bodies of at most `max_docs` documents and about `max_bytes` from a file of prebuilt bulk lines."""
    pairs: list[bytes] = []
    size = 0
    for action in lines:
        source = next(lines, None)
        if source is None:
            raise ValueError("The bulk file's last action line has no source line")
        pair = action + source
        if pairs and (len(pairs) >= max_docs or size + len(pair) > max_bytes):
            yield b"".join(pairs)
            pairs, size = [], 0
        pairs.append(pair)
        size += len(pair)
    if pairs:
        yield b"".join(pairs)


def write_fallback(es: Elasticsearch, prefix: str, rows: list[dict]) -> None:
    """Store rows Elasticsearch rejected (job_id, file_id, line, raw, reason) in the fallback index."""
    fields = ("job_id", "file_id", "line", "raw", "reason")
    write_fallback_documents(
        es, prefix, {document_id(row["file_id"], row["line"]): {name: row[name] for name in fields} for row in rows}
    )


def write_fallback_documents(es: Elasticsearch, prefix: str, documents: dict[str, dict]) -> None:
    """Store rejected rows (by the `_id` they were refused under: job_id or stream_id, line, raw, reason) in the
    fallback index."""
    if not documents:
        return
    index = fallback_index(prefix)
    rejected_at = datetime.now(UTC).isoformat()
    body = b"".join(
        encode_with_id({**document, "@timestamp": rejected_at}, index=index, doc_id=doc_id)
        for doc_id, document in documents.items()
    )
    outcome = send(es, body, key=str)
    if outcome.rejected:
        # The fallback mapping is not dynamic: a rejection here is a bug, not bad data.
        raise ValueError(f"Fallback index {index} rejected rows: {outcome.rejected[:3]}")


def _searched_indices(prefix: str) -> str:
    # The alias, not `{prefix}-*`: that pattern would also match the indices of a longer prefix such as `{prefix}-eu`.
    return f"{prefix},{fallback_index(prefix)}"


class Deletion(NamedTuple):
    documents: int
    indices: frozenset[str]  # where they were: some may now be empty


def delete_file_documents(es: Elasticsearch, prefix: str, file_id: str) -> Deletion:
    """Delete every document of one upload (daily indices and fallback); returns how many, and from which indices."""
    deletion = delete_matching(es, _searched_indices(prefix), {"term": {"file_id": file_id}})
    refresh(es, prefix)
    return deletion


def delete_matching(es: Elasticsearch, indices: str, query: dict) -> Deletion:
    """Delete the documents of these indices that match a query; returns how many, and from which indices."""
    # No _delete_by_query on this cluster: page through a point in time and delete by _index/_id.
    with transient_errors_as_retryable():
        pit_id = es.open_point_in_time(index=indices, keep_alive=PIT_KEEP_ALIVE, ignore_unavailable=True)["id"]
    deleted = 0
    touched: set[str] = set()
    search_after = None
    try:
        while True:
            with transient_errors_as_retryable():
                page = es.search(
                    pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE},
                    query=query,
                    sort=["_shard_doc"],
                    search_after=search_after,
                    size=DELETE_PAGE_SIZE,
                    source=False,
                    track_total_hits=False,
                    filter_path="pit_id,hits.hits._index,hits.hits._id,hits.hits.sort",
                ).body
            pit_id = page.get("pit_id", pit_id)
            hits = page.get("hits", {}).get("hits", [])
            if not hits:
                break
            deleted += delete_hits(es, hits)
            touched.update(hit["_index"] for hit in hits)
            search_after = hits[-1]["sort"]
    finally:
        # The point in time expires by itself; failing to close it early must not hide the real outcome.
        with suppress(ApiError, ConnectionError, ConnectionTimeout):
            es.close_point_in_time(id=pit_id)
    return Deletion(deleted, frozenset(touched))


def delete_hits(es: Elasticsearch, hits: list[dict]) -> int:
    """Delete documents named by `_index` and `_id`; returns how many were there (gone already is fine)."""
    body = b"".join(
        b'{"delete":{"_index":' + orjson.dumps(hit["_index"]) + b',"_id":' + orjson.dumps(hit["_id"]) + b"}}\n"
        for hit in hits
    )
    statuses = [result["status"] for item in _post_bulk(es, body)["items"] for result in item.values()]
    if any(_is_transient_status(status) for status in statuses):
        raise TransientIndexError("some deletes failed transiently")
    return sum(1 for status in statuses if status == 200)  # 404: already gone


def refresh(es: Elasticsearch, prefix: str) -> None:
    """Make everything indexed so far under `prefix` searchable (through the alias: a file may span
    hundreds of daily indices, too many to name in one request line)."""
    with transient_errors_as_retryable():
        es.indices.refresh(index=_searched_indices(prefix), ignore_unavailable=True, allow_no_indices=True)


def cluster_ready(es: Elasticsearch, timeout: float = 3.0) -> bool:
    """Whether Elasticsearch answers with a usable (green or yellow) cluster right now."""
    try:
        health = es.options(request_timeout=timeout).cluster.health()
    except (ApiError, ConnectionError, ConnectionTimeout):
        return False
    return health.get("status") in ("green", "yellow")


def count_file_documents(es: Elasticsearch, prefix: str, file_id: str) -> tuple[int, int]:
    """(indexed, fallback) documents of one upload, as Elasticsearch holds them now."""
    query = {"term": {"file_id": file_id}}
    refresh(es, prefix)
    with transient_errors_as_retryable():
        indexed = es.count(index=prefix, query=query, ignore_unavailable=True)["count"]
        fallback = es.count(index=fallback_index(prefix), query=query, ignore_unavailable=True)["count"]
    return indexed, fallback
