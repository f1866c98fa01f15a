"""The daily indices on the cluster: which exist, the shard budget they draw on, and deleting empty ones.

Each event day is one index of one shard, and Elasticsearch refuses new shards past its budget
(`cluster.max_shards_per_node` times the data nodes), for every user at once. So a job checks the
headroom before it creates days, keeping a reserve for other users' small uploads, and an index whose
last document is deleted goes too.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from elasticsearch import Elasticsearch

from ingestion.bulk import transient_errors_as_retryable
from ingestion.documents import daily_index_patterns, day_of_daily_index, index_settings

# A job with at most this many days (a week of daily logs) may create them from the reserve: the
# reserve exists for such ordinary uploads, and 100 shards of it take at least 14 of them.
SMALL_JOB_DAYS = 7
# Index names go in the URL, which has a length limit.
NAMES_PER_REQUEST = 50


@dataclass(frozen=True)
class ShardUsage:
    used: int
    budget: int
    reserve: int

    @property
    def free(self) -> int:
        return self.budget - self.used

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class NoShardHeadroom(Exception):
    """Creating a chunk's new days would leave the cluster without room for other users' days."""


def shards_per_index() -> int:
    shape = index_settings()
    return shape["number_of_shards"] * (1 + shape["number_of_replicas"])


def shard_usage(es: Elasticsearch, *, reserve: int) -> ShardUsage:
    """Shards in use and the cluster's budget, read now (about 30 ms; a changed limit counts at once)."""
    with transient_errors_as_retryable():
        health = es.cluster.health(
            filter_path="number_of_data_nodes,active_shards,initializing_shards,unassigned_shards"
        ).body
        per_node = _max_shards_per_node(es)
    # Relocating shards are already among the active ones; unassigned replicas count against the limit too.
    used = health["active_shards"] + health["initializing_shards"] + health["unassigned_shards"]
    return ShardUsage(used=used, budget=per_node * health["number_of_data_nodes"], reserve=reserve)


def _max_shards_per_node(es: Elasticsearch) -> int:
    found = es.cluster.get_settings(include_defaults=True, filter_path="*.cluster.max_shards_per_node").body
    for level in ("transient", "persistent", "defaults"):
        value = found.get(level, {}).get("cluster", {}).get("max_shards_per_node")
        # Under "defaults" it is an object ({"frozen": ...}) when the plain value is set at another level.
        if isinstance(value, str | int):
            return int(value)
    raise LookupError(f"Elasticsearch reported no cluster.max_shards_per_node: {found}")


def daily_indices(es: Elasticsearch, prefix: str) -> set[str]:
    """The names of the prefix's daily indices that exist now."""
    with transient_errors_as_retryable():
        rows = es.cat.indices(index=",".join(daily_index_patterns(prefix)), h="index", format="json").body
    return {row["index"] for row in rows if day_of_daily_index(prefix, row["index"])}


# A short-lived copy of the listing per process, for stream batches: an index is only ever missing from it when it
# was deleted within this time (it is then created again without a budget check: one index, at most).
LISTING_MAX_AGE_SECONDS = 30
_listing: dict[str, tuple[float, set[str]]] = {}


def daily_indices_known(es: Elasticsearch, prefix: str, needed: set[str]) -> set[str]:
    """Which of `needed` exist, from this process's recent listing; listed again when it is older than
    LISTING_MAX_AGE_SECONDS or lacks one of them (a new day is always checked against the cluster)."""
    at, names = _listing.get(prefix, (0.0, set()))
    if not needed <= names or time.monotonic() - at > LISTING_MAX_AGE_SECONDS:
        names = daily_indices(es, prefix)
        _listing[prefix] = (time.monotonic(), names)
    return needed & names


def headroom_refusal(
    usage: ShardUsage, *, new_indices: int, job_days: int, subject: str = "This file's events"
) -> str | None:
    """Why creating `new_indices` daily indices now would not fit; None when it fits.

    A job of a few days (SMALL_JOB_DAYS) may use the reserve; a bigger one must leave it free, so one
    large upload can never take the room another user's ordinary upload needs for its new days.
    """
    reserve = 0 if job_days <= SMALL_JOB_DAYS else usage.reserve
    room = max(usage.free - reserve, 0) // shards_per_index()
    if new_indices <= room:
        return None
    days = "day" if new_indices == 1 else "days"
    kept = f", {reserve} kept free so other uploads can still create their days" if reserve else ""
    return (
        f"{subject} fall on {new_indices} {days} that have no index yet, but Elasticsearch has room for "
        f"only {room} more ({usage.used} of {usage.budget} shards used{kept}). Delete old uploads or raise "
        "cluster.max_shards_per_node."
    )


def delete_if_empty(es: Elasticsearch, prefix: str, names: Iterable[str]) -> list[str]:
    """Delete those of these indices that are daily indices of the prefix and hold no document; returns the
    names deleted (the fallback index, or another prefix's, is never touched).

    A job may be writing into one of them right now. So each is write-blocked first (the _block API
    waits for writes in flight), refreshed and counted; one that holds documents is unblocked and kept.
    A write refused by the block is retried by the bulk path (it finds the index unblocked, or gone and
    created again), so no row is lost to this race.
    """
    names = sorted({name for name in names if day_of_daily_index(prefix, name)})
    deleted: list[str] = []
    for start in range(0, len(names), NAMES_PER_REQUEST):
        deleted += _delete_batch_if_empty(es, names[start : start + NAMES_PER_REQUEST])
    return deleted


def _delete_batch_if_empty(es: Elasticsearch, batch: list[str]) -> list[str]:
    with transient_errors_as_retryable():
        blocked = es.indices.add_block(
            index=",".join(batch), block="write", ignore_unavailable=True, allow_no_indices=True
        ).body
    kept = [row["name"] for row in blocked.get("indices", []) if row.get("blocked")]
    empty: list[str] = []
    try:
        with transient_errors_as_retryable():
            empty = _empty_among(es, kept)
            if empty:
                es.indices.delete(index=",".join(empty), ignore_unavailable=True)
        kept = [name for name in kept if name not in empty]
    finally:
        if kept:
            with transient_errors_as_retryable():
                es.indices.put_settings(
                    index=",".join(kept), settings={"index.blocks.write": None}, ignore_unavailable=True
                )
    return empty


def _empty_among(es: Elasticsearch, names: list[str]) -> list[str]:
    if not names:
        return []
    joined = ",".join(names)
    es.indices.refresh(index=joined, ignore_unavailable=True)
    found = es.search(
        index=joined,
        size=0,
        aggs={"per_index": {"terms": {"field": "_index", "size": len(names)}}},
        ignore_unavailable=True,
    ).body
    holding = {bucket["key"] for bucket in found["aggregations"]["per_index"]["buckets"]}
    return [name for name in names if name not in holding]


def empty_daily_indices(es: Elasticsearch, prefix: str) -> list[str]:
    """The prefix's daily indices that look empty now (candidates: delete_if_empty checks each again)."""
    with transient_errors_as_retryable():
        rows = es.cat.indices(index=",".join(daily_index_patterns(prefix)), h="index,docs.count", format="json").body
    return sorted(row["index"] for row in rows if day_of_daily_index(prefix, row["index"]) and row["docs.count"] == "0")


def index_sizes(es: Elasticsearch, prefix: str) -> dict[str, tuple[int, int]]:
    """(documents, bytes on disk) of each daily index of the prefix, as _cat/indices reports them now."""
    with transient_errors_as_retryable():
        rows = es.cat.indices(
            index=",".join(daily_index_patterns(prefix)), h="index,docs.count,store.size", bytes="b", format="json"
        ).body
    return {
        row["index"]: (int(row["docs.count"] or 0), int(row["store.size"] or 0))
        for row in rows
        if day_of_daily_index(prefix, row["index"])
    }


def delete_whole_if(es: Elasticsearch, prefix: str, name: str, all_expired: Callable[[str], bool]) -> bool:
    """Delete a daily index whole if `all_expired(name)` still holds once writes to it are blocked; True if deleted.

    A running job may be writing into an old day right now: the write block waits for writes in flight, the
    check then sees every document, and an index that holds one that has not expired is unblocked and kept
    (a write refused meanwhile is retried by the bulk path, as for delete_if_empty).
    """
    if not day_of_daily_index(prefix, name):
        return False
    with transient_errors_as_retryable():
        blocked = es.indices.add_block(index=name, block="write", ignore_unavailable=True, allow_no_indices=True).body
    if not any(row.get("blocked") for row in blocked.get("indices", [])):
        return False
    deleted = False
    try:
        with transient_errors_as_retryable():
            es.indices.refresh(index=name, ignore_unavailable=True)
            if all_expired(name):
                es.indices.delete(index=name, ignore_unavailable=True)
                deleted = True
    finally:
        if not deleted:
            with transient_errors_as_retryable():
                es.indices.put_settings(index=name, settings={"index.blocks.write": None}, ignore_unavailable=True)
    return deleted
