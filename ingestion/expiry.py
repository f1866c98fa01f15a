"""What retention reads from Elasticsearch: who holds documents in which daily index, and how many."""

from elasticsearch import Elasticsearch

from ingestion.bulk import transient_errors_as_retryable
from ingestion.documents import day_of_daily_index, fallback_index

# Terms aggregations return at most this many buckets: more uploads or stream owners in one day index than
# this make the index "not wholly expired" (kept whole, its documents deleted by job instead), never wrong.
MAX_BUCKETS = 10_000
STREAM_QUERY = {"exists": {"field": "stream_id"}}


def _per_index(es: Elasticsearch, indices: str, query: dict) -> dict[str, int]:
    with transient_errors_as_retryable():
        found = es.search(
            index=indices,
            size=0,
            query=query,
            aggs={"per_index": {"terms": {"field": "_index", "size": MAX_BUCKETS}}},
            ignore_unavailable=True,
            allow_no_indices=True,
        ).body
    return {bucket["key"]: bucket["doc_count"] for bucket in found["aggregations"]["per_index"]["buckets"]}


def file_documents_by_index(es: Elasticsearch, prefix: str, file_id: str) -> dict[str, int]:
    """An upload's documents per index (its daily indices and the fallback index)."""
    return _per_index(es, f"{prefix},{fallback_index(prefix)}", {"term": {"file_id": file_id}})


def stream_documents(es: Elasticsearch, prefix: str) -> dict[int, dict[str, int]]:
    """Streamed documents (they carry a `stream_id` and no job) per owner, per daily index."""
    with transient_errors_as_retryable():
        found = es.search(
            index=prefix,
            size=0,
            query=STREAM_QUERY,
            aggs={
                "owners": {
                    "terms": {"field": "owner", "size": MAX_BUCKETS},
                    "aggs": {"per_index": {"terms": {"field": "_index", "size": MAX_BUCKETS}}},
                }
            },
            ignore_unavailable=True,
            allow_no_indices=True,
        ).body
    return {
        int(owner["key"]): {
            bucket["key"]: bucket["doc_count"]
            for bucket in owner["per_index"]["buckets"]
            if day_of_daily_index(prefix, bucket["key"])
        }
        for owner in found["aggregations"]["owners"]["buckets"]
    }


def stream_query(owner_id: int) -> dict:
    return {"bool": {"filter": [STREAM_QUERY, {"term": {"owner": owner_id}}]}}


def stream_count(es: Elasticsearch, index: str, owner_id: int) -> int:
    with transient_errors_as_retryable():
        return es.count(index=index, query=stream_query(owner_id), ignore_unavailable=True)["count"]


def index_holders(es: Elasticsearch, index: str) -> tuple[int, dict[str, int], dict[int, int]]:
    """(all documents, uploaded documents per file id, streamed documents per owner) of one index."""
    with transient_errors_as_retryable():
        found = es.search(
            index=index,
            size=0,
            track_total_hits=True,
            aggs={
                "files": {"terms": {"field": "file_id", "size": MAX_BUCKETS}},
                "streams": {
                    "filter": STREAM_QUERY,
                    "aggs": {"owners": {"terms": {"field": "owner", "size": MAX_BUCKETS}}},
                },
            },
            ignore_unavailable=True,
        ).body
    files = {bucket["key"]: bucket["doc_count"] for bucket in found["aggregations"]["files"]["buckets"]}
    owners = {
        int(bucket["key"]): bucket["doc_count"] for bucket in found["aggregations"]["streams"]["owners"]["buckets"]
    }
    return found["hits"]["total"]["value"], files, owners


def documents_by_owner(es: Elasticsearch, prefix: str) -> dict[int, dict[str, int]]:
    """Every owner's documents per daily index (the dashboard's storage figures)."""
    with transient_errors_as_retryable():
        found = es.search(
            index=prefix,
            size=0,
            aggs={
                "owners": {
                    "terms": {"field": "owner", "size": MAX_BUCKETS},
                    "aggs": {"per_index": {"terms": {"field": "_index", "size": MAX_BUCKETS}}},
                }
            },
            ignore_unavailable=True,
            allow_no_indices=True,
        ).body
    return {
        int(owner["key"]): {bucket["key"]: bucket["doc_count"] for bucket in owner["per_index"]["buckets"]}
        for owner in found["aggregations"]["owners"]["buckets"]
    }


def estimate_bytes(sizes: dict[str, tuple[int, int]], index: str, documents: int) -> int:
    """Bytes of `documents` of an index: its size on disk shared evenly (Elasticsearch sizes whole indices only)."""
    count, size = sizes.get(index, (0, 0))
    return round(size * documents / count) if count else 0
