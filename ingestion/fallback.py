"""The fallback index read back: a job's set-aside rows by page or all in line order; removing re-indexed ones."""

from collections.abc import Iterator

from elasticsearch import Elasticsearch

from ingestion.bulk import delete_hits, document_id, transient_errors_as_retryable
from ingestion.documents import fallback_index

ROW_FIELDS = ["line", "reason", "raw"]
# Elasticsearch's max_result_window: a page further in than this is not served by from/size.
MAX_PAGED_ROWS = 10_000
_READ_PAGE = 1000


def _search(es: Elasticsearch, prefix: str, file_id: str, **options) -> dict:
    with transient_errors_as_retryable():
        return es.search(
            index=fallback_index(prefix),
            query={"term": {"file_id": file_id}},
            sort=[{"line": "asc"}],
            source=ROW_FIELDS,
            ignore_unavailable=True,
            **options,
        ).body


def _rows(answer: dict) -> list[dict]:
    return [hit["_source"] for hit in answer["hits"]["hits"]]


def set_aside_page(es: Elasticsearch, prefix: str, file_id: str, *, skip: int, limit: int) -> tuple[list[dict], int]:
    """One page of an upload's set-aside rows (line, reason, raw) in line order, and how many there are."""
    limit = max(0, min(limit, MAX_PAGED_ROWS - skip))
    answer = _search(es, prefix, file_id, from_=min(skip, MAX_PAGED_ROWS), size=limit, track_total_hits=True)
    return _rows(answer), answer["hits"]["total"]["value"]


def set_aside_rows(es: Elasticsearch, prefix: str, file_id: str) -> Iterator[dict]:
    """Every set-aside row of an upload in line order, read a page at a time (lines are unique per upload)."""
    after = None
    while True:
        page = _rows(_search(es, prefix, file_id, size=_READ_PAGE, search_after=after, track_total_hits=False))
        yield from page
        if len(page) < _READ_PAGE:
            return
        after = [page[-1]["line"]]


def set_aside_remove(es: Elasticsearch, prefix: str, file_id: str, lines: list[int]) -> None:
    """Delete these lines of an upload from the fallback index: they are indexed now."""
    if lines:
        index = fallback_index(prefix)
        delete_hits(es, [{"_index": index, "_id": document_id(file_id, line)} for line in lines])
