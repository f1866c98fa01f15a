"""The cluster's shard budget on the real servers: one user's uploads cannot stop another's, deleting an upload
gives its empty days back, and the housekeeping command deletes empty daily indices."""

import io
import re
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.management import call_command

from config.es import get_es
from ingestion import tasks
from tests.analytics.conftest import client_for
from tests.conftest import fresh_user_id
from tests.helpers import count_documents, transactions_on, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)

# 131 years of monthly events, 1970 to 2100, as in the issue: 1,572 distinct days.
MONTHS = [f"{year}-{month:02d}-01T12:00:00Z" for year in range(1970, 2101) for month in range(1, 13)]


def day_indices() -> set[str]:
    prefix = settings.LOGS_INDEX_PREFIX
    rows = get_es().cat.indices(index=f"{prefix}-*", h="index", format="json")
    return {
        row["index"] for row in rows if re.fullmatch(rf"{re.escape(prefix)}-\d{{4}}\.\d{{2}}\.\d{{2}}", row["index"])
    }


@contextmanager
def shard_budget(extra: int):
    """The node may hold only `extra` shards more than it holds now (a transient cluster setting)."""
    es = get_es()
    health = es.cluster.health()
    used = health["active_shards"] + health["initializing_shards"] + health["unassigned_shards"]
    es.cluster.put_settings(transient={"cluster.max_shards_per_node": used + extra})
    try:
        yield used + extra
    finally:
        es.cluster.put_settings(transient={"cluster.max_shards_per_node": None})


def test_a_user_filling_the_shard_budget_cannot_stop_another_users_upload(celery_worker):
    alice, bob = client_for(fresh_user_id(), "alice"), client_for(fresh_user_id(), "bob")
    before = day_indices()

    with shard_budget(120):
        # A year of monthly events (12 days) fits beside the reserve of 100 shards.
        first, first_job = upload_and_wait(alice, "orders_1970.csv", transactions_on(MONTHS[:12] * 4))
        after_first = day_indices()
        # 2,000 rows dated monthly from 1970 to 2100: 400 days are kept, 388 of them new; they do not fit.
        second, second_job = upload_and_wait(alice, "orders_1970_2100.csv", transactions_on((MONTHS * 2)[:2000]))
        after_second = day_indices()
        # Bob's ordinary upload: 50 transactions over two days nobody has used.
        moments = [f"2077-03-{14 + number % 2}T{8 + number // 5:02d}:30:00Z" for number in range(50)]
        third, third_job = upload_and_wait(bob, "orders_march.csv", transactions_on(moments))

    assert first_job["status"] == "completed"
    assert len(after_first - before) == 12
    assert second_job["status"] == "failed"
    assert second_job["reason"].startswith(
        "This file's events fall on 388 days that have no index yet, but Elasticsearch has room for only "
    )
    assert "100 kept free so other uploads can still create their days)" in second_job["reason"]
    assert second_job["reason"].endswith("Delete old uploads or raise cluster.max_shards_per_node.")
    assert after_second == after_first
    assert second_job["counts"]["dead_lettered"] == 2000 - 800  # rows beyond the first 400 days
    assert third_job["status"] == "completed"
    assert third_job["counts"]["indexed"] == 50
    assert count_documents(third["file_id"]) == 50

    assert alice.delete(f"/api/logs/uploads/{second['file_id']}").status_code == 200
    assert alice.delete(f"/api/logs/uploads/{first['file_id']}").status_code == 200

    assert day_indices() == before | set(third_job["indices"])


def test_deleting_an_upload_keeps_a_day_another_upload_still_has_events_on(celery_worker):
    alice, bob = client_for(fresh_user_id(), "alice"), client_for(fresh_user_id(), "bob")
    shared, own = "2061-09-09T10:00:00Z", "2061-09-10T10:00:00Z"
    mine, _ = upload_and_wait(alice, "orders.csv", transactions_on([shared, own]))
    upload_and_wait(bob, "orders.csv", transactions_on([shared]))

    alice.delete(f"/api/logs/uploads/{mine['file_id']}")

    prefix = settings.LOGS_INDEX_PREFIX
    assert f"{prefix}-2061.09.09" in day_indices()
    assert f"{prefix}-2061.09.10" not in day_indices()


def test_the_housekeeping_command_deletes_empty_daily_indices_and_keeps_the_others(celery_worker):
    prefix = settings.LOGS_INDEX_PREFIX
    empty = f"{prefix}-2088.08.08"
    get_es().indices.create(index=empty)
    carol = client_for(fresh_user_id(), "carol")
    kept, _ = upload_and_wait(carol, "orders.csv", transactions_on(["2088-08-09T10:00:00Z"]))

    dry_run = run_command(dry_run=True)
    assert f"would delete {empty}\n" in dry_run
    assert empty in day_indices()

    output = run_command()

    assert f"deleted {empty}\n" in output
    assert f"{prefix}-2088.08.09" not in output
    assert empty not in day_indices()
    assert f"{prefix}-2088.08.09" in day_indices()
    assert count_documents(kept["file_id"]) == 1
    assert get_es().indices.exists(index=f"{prefix}-fallback")


def run_command(**options) -> str:
    out = io.StringIO()
    call_command("delete_empty_indices", stdout=out, **options)
    return out.getvalue()


def test_beat_runs_the_housekeeping_task_every_day():
    empty = f"{settings.LOGS_INDEX_PREFIX}-2088.08.10"
    get_es().indices.create(index=empty)
    entry = settings.CELERY_BEAT_SCHEDULE["delete-empty-indices"]

    deleted = tasks.delete_empty_indices.apply().get()

    assert entry == {"task": tasks.delete_empty_indices.name, "schedule": 24 * 3600}
    assert empty in deleted
    assert empty not in day_indices()
