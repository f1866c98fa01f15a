"""The operations dashboard: jobs, ingest activity, rows that needed care, index sizes, dependency health."""

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from elasticsearch_dsl import A

from analytics.filters import EventFilters, scoped_search
from analytics.fraud.selectors import alert_counts
from config.es import get_es
from config.health import dependency_statuses, shared_health
from ingestion.contract import day_of_daily_index, events_alias, ingest_activity, jobs_by_status, shard_budget


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
    now = dt.datetime.now(dt.UTC)
    return {
        "generated_at": now.isoformat(),
        "jobs_by_status": jobs_by_status(user=user),
        "ingest": ingest_activity(user=user, now=now),
        "indices": _indices(user),
        "shards": shard_budget(),
        "fraud_alerts": alert_counts(user=user),
        "health": shared_health() if user.is_staff else dependency_statuses(),
    }
