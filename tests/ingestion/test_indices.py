"""Daily indices on the real Elasticsearch: the shard budget read, the headroom rule, deleting empty ones safely."""

from uuid import uuid4

import pytest

from config.es import get_es
from ingestion.documents import ensure_index_templates, fallback_index
from ingestion.indices import ShardUsage, daily_indices, delete_if_empty, headroom_refusal, shard_usage
from tests.helpers import delete_prefix


@pytest.fixture
def prefix():
    """A prefix of this test alone, outside `test-logs-ecom-*` which other test sessions wipe when they start."""
    name = f"test-indices-{uuid4().hex[:6]}"
    ensure_index_templates(get_es(), name)
    yield name
    delete_prefix(name)


def test_a_big_job_may_create_days_while_the_reserve_stays_free():
    usage = ShardUsage(used=700, budget=1000, reserve=100)

    assert headroom_refusal(usage, new_indices=200, job_days=300) is None


def test_a_big_job_that_would_dip_into_the_reserve_is_refused_with_the_figures():
    usage = ShardUsage(used=700, budget=1000, reserve=100)

    reason = headroom_refusal(usage, new_indices=201, job_days=400)

    assert reason == (
        "This file's events fall on 201 days that have no index yet, but Elasticsearch has room for only 200 more "
        "(700 of 1000 shards used, 100 kept free so other uploads can still create their days). Delete old uploads "
        "or raise cluster.max_shards_per_node."
    )


def test_a_small_job_may_use_the_reserve_that_a_big_one_may_not():
    usage = ShardUsage(used=950, budget=1000, reserve=100)

    assert headroom_refusal(usage, new_indices=7, job_days=7) is None
    assert headroom_refusal(usage, new_indices=7, job_days=8) is not None


def test_a_small_job_is_refused_only_when_the_cluster_is_full():
    usage = ShardUsage(used=999, budget=1000, reserve=100)

    assert headroom_refusal(usage, new_indices=1, job_days=2) is None
    assert headroom_refusal(usage, new_indices=2, job_days=2) == (
        "This file's events fall on 2 days that have no index yet, but Elasticsearch has room for only 1 more "
        "(999 of 1000 shards used). Delete old uploads or raise cluster.max_shards_per_node."
    )


def test_the_budget_is_the_clusters_own_limit_and_the_shards_in_use():
    es = get_es()
    health = es.cluster.health()
    es.cluster.put_settings(transient={"cluster.max_shards_per_node": 1234})
    try:
        usage = shard_usage(es, reserve=100)
    finally:
        es.cluster.put_settings(transient={"cluster.max_shards_per_node": None})

    assert usage.budget == 1234 * health["number_of_data_nodes"]
    assert usage.used == health["active_shards"] + health["unassigned_shards"] + health["initializing_shards"]
    assert shard_usage(es, reserve=100).budget == 1000 * health["number_of_data_nodes"]


def test_only_empty_daily_indices_are_deleted(prefix):
    es = get_es()
    empty, full, other = f"{prefix}-2030.01.01", f"{prefix}-2030.01.02", f"{prefix}-eu-2030.01.01"
    for index in (empty, full, other):
        es.indices.create(index=index)
    # Written, not yet searchable: the deletion must see it anyway.
    es.index(index=full, id="f:1", document={"@timestamp": "2030-01-02T10:00:00Z", "order_id": "A-1"})

    deleted = delete_if_empty(es, prefix, [empty, full, other, fallback_index(prefix), f"{prefix}-2030.01.03"])

    assert deleted == [empty]
    assert daily_indices(es, prefix) == {full}
    assert es.indices.exists(index=other)
    assert es.indices.exists(index=fallback_index(prefix))
    es.options(ignore_status=404).indices.delete(index=other)


def test_an_index_kept_by_the_check_takes_writes_again(prefix):
    es = get_es()
    full = f"{prefix}-2030.02.01"
    es.index(index=full, id="f:1", document={"@timestamp": "2030-02-01T10:00:00Z"}, refresh=True)

    assert delete_if_empty(es, prefix, [full]) == []

    es.index(index=full, id="f:2", document={"@timestamp": "2030-02-01T11:00:00Z"}, refresh=True)
    assert es.count(index=full)["count"] == 2
