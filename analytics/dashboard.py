"""The operations dashboard: jobs, ingest activity, rows that needed care, index sizes, dependency health."""

import datetime as dt
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from elasticsearch_dsl import A

from analytics.filters import EventFilters, scoped_search
from analytics.fraud.selectors import alert_counts
from analytics.selectors import cached, scope_key, side_by_side
from config.es import get_es
from config.health import dependency_statuses, shared_health
from ingestion.contract import (
    day_of_daily_index,
    events_alias,
    ingest_activity,
    jobs_by_status,
    jobs_finished_recently,
    jobs_version,
    retention_last_run,
    shard_budget,
    storage_used,
)


def _indices(user: AbstractBaseUser) -> list[dict]:
    """Documents per daily index and its day (the user's own; staff: all, with disk size)."""
    search = scoped_search(user, EventFilters()).extra(size=0)
    search.aggs.bucket("indices", A("terms", field="_index", size=1000, order={"_key": "desc"}))
    rows = [
        {"index": bucket.key, "day": day_of_daily_index(events_alias(), bucket.key), "documents": bucket.doc_count}
        for bucket in search.execute().aggregations.indices.buckets
    ]
    if user.is_staff:
        sizes = {
            row["index"]: int(row["store.size"] or 0)
            for row in get_es().cat.indices(
                index=f"{settings.LOGS_INDEX_PREFIX}-*", format="json", bytes="b", h="index,store.size"
            )
        }
        for row in rows:
            row["size_bytes"] = sizes.get(row["index"])
    return rows


def _board_key(kind: str, user: AbstractBaseUser, *parts: object) -> str:
    """A cache key that changes when the events or any job record changes."""
    return scope_key(f"board:{kind}", user, EventFilters(), jobs_version(), *parts)


def _ingest(user: AbstractBaseUser, now: dt.datetime) -> dict:
    """Ingest activity as of now, from the recently finished jobs kept in the cache (read again on a new day)."""
    key = _board_key("finished", user, now.date())
    jobs = cached(key, partial(jobs_finished_recently, user=user, now=now))
    return ingest_activity(user=user, now=now, jobs=jobs)


def board_cached_parts(*, user: AbstractBaseUser, now: dt.datetime) -> dict:
    """The board's figures that read every job or every daily index, each from the cache until a job record or the
    events change (then computed afresh and kept): no request scans the jobs in MongoDB or lists the indices while
    they stand still."""
    return {
        "jobs_by_status": partial(cached, _board_key("jobs", user), partial(jobs_by_status, user=user)),
        "ingest": partial(_ingest, user, now),
        "indices": partial(cached, scope_key("indices", user, EventFilters()), partial(_indices, user)),
        "storage": partial(cached, _board_key("storage", user), partial(storage_used, user=user)),
    }


def dashboard_warm(*, user: AbstractBaseUser) -> None:
    """Compute and keep the board's cached figures now (after a job finished), so the next visit is a warm one."""
    side_by_side(board_cached_parts(user=user, now=dt.datetime.now(dt.UTC)))


def dashboard(*, user: AbstractBaseUser) -> dict:
    """The board: its figures are asked side by side, the costly ones from the cache (board_cached_parts); the
    streamed lines of the ingest activity, the shard budget, fraud alerts and health are read as they are now."""
    now = dt.datetime.now(dt.UTC)
    parts = side_by_side({**board_cached_parts(user=user, now=now), "shards": shard_budget})
    return {
        "generated_at": now.isoformat(),
        **parts,
        "fraud_alerts": alert_counts(user=user),
        "retention": retention_last_run() if user.is_staff else None,
        "health": shared_health() if user.is_staff else dependency_statuses(),
    }
