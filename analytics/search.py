"""Searching the events: a page of hits with highlights and an exact total, cursors past 10,000, exports.

Pages after the first continue a point in time (PIT) with `search_after`, so paging through millions
of hits sees one consistent snapshot and never repeats or skips a document. The PIT id stays server-side
(`analytics.cursors`); the cursor only names it.
"""

import itertools
from collections.abc import Iterator

from django.contrib.auth.models import AbstractBaseUser
from elasticsearch import ApiError, NotFoundError
from elasticsearch_dsl import Search
from rest_framework import status

from analytics.cursors import EXPIRED, Cursor, cursor_decode, cursor_encode, pit_key_new, pit_recall, pit_remember
from analytics.filters import EventFilters, check_field_name, scoped_search, text_query
from config.errors import ApplicationError
from config.es import get_es
from ingestion.contract import events_alias

PIT_KEEP_ALIVE_SECONDS = 300
PIT_KEEP_ALIVE = f"{PIT_KEEP_ALIVE_SECONDS}s"
MAX_PAGE_SIZE = 500
EXPORT_PAGE_SIZE = 5000
DEFAULT_SORT = "-@timestamp"
HIGHLIGHT = {
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    # Fragments come back HTML-escaped with only our <mark> tags added, so pages can show them as they are.
    "encoder": "html",
    "require_field_match": False,
    "fragment_size": 160,
    "number_of_fragments": 3,
}


def _sort(sort: str) -> list[dict]:
    name = check_field_name(sort.removeprefix("-"))
    # unmapped_type: sorting on a field some indices lack is not an error, those hits just sort last.
    return [{name: {"order": "desc" if sort.startswith("-") else "asc", "unmapped_type": "keyword"}}]


def _open_pit() -> str:
    return get_es().open_point_in_time(index=events_alias(), keep_alive=PIT_KEEP_ALIVE, ignore_unavailable=True)["id"]


def _run(search: Search) -> dict:
    try:
        return search.using(get_es()).execute().to_dict()
    except NotFoundError as error:
        if "search_context_missing" in str(error) or "point in time" in str(error).lower():
            raise ApplicationError(EXPIRED, status.HTTP_410_GONE) from error
        raise
    except ApiError as error:
        if error.status_code == 400:
            raise ApplicationError(f"Elasticsearch could not run this search: {_reason(error)}") from error
        raise


def _reason(error: ApiError) -> str:
    info = error.info if isinstance(error.info, dict) else {}
    causes = info.get("error", {}).get("root_cause") or [info.get("error", {})]
    return str((causes[0] or {}).get("reason") or error.message)[:300]


def _page_search(user: AbstractBaseUser, filters: EventFilters, sort: str, size: int, pit_id: str, after) -> Search:
    # A PIT search names no index: the PIT carries it.
    search = scoped_search(user, filters, Search())
    search = search.sort(*_sort(sort)).extra(
        size=size, track_total_hits=True, pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}
    )
    if after is not None:
        search = search.extra(search_after=after)
    if filters.text:
        # Only the words typed are marked, not the values of the filters (owner, job id) around them.
        search = search.highlight("*").highlight_options(
            **HIGHLIGHT, highlight_query=text_query(filters.text).to_dict()
        )
    return search


def search_page(
    *, user: AbstractBaseUser, filters: EventFilters, sort: str = DEFAULT_SORT, page_size: int = 20, cursor: str = ""
) -> dict:
    """One page of hits: {"total": {"value", "relation"}, "results": [...], "next": cursor or None}."""
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    if cursor:
        position = cursor_decode(cursor)
        key, after, pit_id = position.key, position.after, pit_recall(key=position.key, user=user)
    else:
        key, after, pit_id = pit_key_new(), None, _open_pit()
    response = _run(_page_search(user, filters, sort or DEFAULT_SORT, size, pit_id, after))
    hits = response["hits"]["hits"]
    total = response["hits"]["total"]
    next_cursor = cursor_encode(Cursor(key=key, after=hits[-1]["sort"])) if len(hits) == size else None
    if cursor or next_cursor:
        # This search renewed the PIT's keep-alive in Elasticsearch; its key gets the same time again.
        pit_remember(key=key, pit_id=response.get("pit_id", pit_id), user=user, seconds=PIT_KEEP_ALIVE_SECONDS)
    return {
        "total": {"value": total["value"], "relation": total["relation"]},
        "results": [
            {"id": hit["_id"], "index": hit["_index"], "source": hit["_source"], "highlight": hit.get("highlight", {})}
            for hit in hits
        ],
        "next": next_cursor,
    }


def latest(*, user: AbstractBaseUser, filters: EventFilters, sort: str = "-ingested_at", size: int = 10) -> list[dict]:
    """The first few hits in one plain search (no point in time: a page that refreshes must not open one each time)."""
    search = scoped_search(user, filters).sort(*_sort(sort)).extra(size=max(1, min(size, MAX_PAGE_SIZE)))
    # Before the first daily index exists there is no alias to search: no hits, not an error.
    search = search.params(ignore_unavailable=True, allow_no_indices=True)
    hits = _run(search)["hits"]["hits"]
    return [{"id": hit["_id"], "index": hit["_index"], "source": hit["_source"]} for hit in hits]


def search_check(*, user: AbstractBaseUser, filters: EventFilters) -> None:
    """Run the search once for its verdict only: a query Elasticsearch refuses is a 400 that says why."""
    # ignore_unavailable: before the first upload there is no index (nor alias) yet, and nothing wrong with the query.
    _run(scoped_search(user, filters).extra(size=0, track_total_hits=False).params(ignore_unavailable=True))


def count(*, user: AbstractBaseUser, filters: EventFilters) -> int:
    return scoped_search(user, filters).count()


def document_get(*, user: AbstractBaseUser, doc_id: str) -> dict:
    """One event by its id (`file_id:line`), if this user may see it."""
    search = scoped_search(user, EventFilters()).filter("ids", values=[doc_id]).extra(size=1)
    hits = _run(search)["hits"]["hits"]
    if not hits:
        raise ApplicationError("Event not found", status.HTTP_404_NOT_FOUND)
    return {"id": hits[0]["_id"], "index": hits[0]["_index"], "source": hits[0]["_source"]}


def iter_hits(search: Search, sort: str = DEFAULT_SORT, page_size: int = EXPORT_PAGE_SIZE) -> Iterator[dict]:
    """Every hit of a (scoped) search, page by page through one PIT: memory holds one page, whatever the total.

    The search must name no index (the PIT does): build it on `Search()`.
    """
    pit_id, after = _open_pit(), None
    try:
        while True:
            page = search.sort(*_sort(sort)).extra(
                size=page_size, track_total_hits=False, pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}
            )
            if after is not None:
                page = page.extra(search_after=after)
            response = _run(page)
            pit_id = response.get("pit_id", pit_id)
            hits = response["hits"]["hits"]
            yield from hits
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]
    finally:
        get_es().options(ignore_status=404).close_point_in_time(id=pit_id)


def export_hits(*, user: AbstractBaseUser, filters: EventFilters, sort: str = DEFAULT_SORT) -> Iterator[dict]:
    """Every matching hit, for an export.

    The first page is read before the answer starts: a bad sort or a search Elasticsearch refuses is then a 400
    with the one error shape, not a stream that breaks after its headers are sent.
    """
    hits = iter_hits(scoped_search(user, filters, Search()), sort or DEFAULT_SORT)
    first = next(hits, None)
    return iter(()) if first is None else itertools.chain([first], hits)
