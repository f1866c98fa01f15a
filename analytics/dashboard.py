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


def dashboard(*, user: AbstractBaseUser) -> dict:
    """The board: MongoDB and Elasticsearch are asked side by side; the documents per index (an aggregation
    over every daily index) are kept in the cache until the events change."""
    now = dt.datetime.now(dt.UTC)
    indices_key = scope_key("indices", user, EventFilters())
    parts = side_by_side(
        {
            "jobs_by_status": partial(jobs_by_status, user=user),
            "ingest": partial(ingest_activity, user=user, now=now),
            "indices": partial(cached, indices_key, partial(_indices, user)),
            "shards": shard_budget,
            "storage": partial(storage_used, user=user),
        }
    )
    return {
        "generated_at": now.isoformat(),
        **parts,
        "fraud_alerts": alert_counts(user=user),
        "retention": retention_last_run() if user.is_staff else None,
        "health": shared_health() if user.is_staff else dependency_statuses(),
    }
