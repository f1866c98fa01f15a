"""The live feed: every bulk request the pipeline indexes is one entry naming exactly its documents (real Redis,
real worker, real Elasticsearch)."""

import logging

import pytest
from django.test import override_settings

from config.es import get_es
from config.redis import get_redis
from ingestion.live import live_feed_append, live_feed_end, live_feed_read
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)


def batches_of(file_id: str, after: str) -> list:
    return [batch for batch in live_feed_read(after=after, limit=10_000) if batch.source_value == file_id]


def test_the_index_stage_records_each_bulk_request_with_exactly_its_documents(api_client, user, celery_worker):
    start = live_feed_end()
    # About 12 MB: two 8 MB chunks, so two stamps and more than one bulk request per chunk.
    data, job = upload_and_wait(api_client, "access.ndjson", data_lines(WEB_ACCESS_LOGS.name, 12_000))

    batches = batches_of(data["file_id"], start)
    covered = sorted(line for batch in batches for line in range(batch.first_line, batch.last_line + 1))
    assert covered == list(range(1, 12_001))  # every line once, none twice
    assert sum(batch.count for batch in batches) == job["counts"]["indexed"] == 12_000
    assert len({batch.ingested_at for batch in batches}) == 2  # one stamp per chunk
    assert {batch.owner for batch in batches} == {str(user.pk)}
    assert {batch.source_field for batch in batches} == {"file_id"}
    for batch in batches:
        found = get_es().count(
            index="test-logs-ecom",
            query={
                "bool": {
                    "filter": [
                        {"term": {"file_id": data["file_id"]}},
                        {"term": {"ingested_at": batch.ingested_at}},
                        {"range": {"line": {"gte": batch.first_line, "lte": batch.last_line}}},
                    ]
                }
            },
        )["count"]
        assert found == batch.count


def test_a_batch_sent_again_by_a_retried_stage_is_recorded_once():
    start = live_feed_end()
    batch = {
        "owner": "7",
        "ingested_at": "2026-12-03T10:00:00.000Z",
        "source_field": "file_id",
        "source_value": "retried-file",
        "lines": (1, 5000),
        "count": 5000,
    }

    live_feed_append(**batch)
    live_feed_append(**batch)

    assert len(batches_of("retried-file", start)) == 1


def test_a_batch_with_nothing_indexed_is_not_recorded():
    start = live_feed_end()

    live_feed_append(
        owner="7",
        ingested_at="2026-12-03T10:00:00.000Z",
        source_field="file_id",
        source_value="all-rejected",
        lines=(1, 10),
        count=0,
    )

    assert batches_of("all-rejected", start) == []


def test_the_feed_keeps_the_order_in_which_batches_were_indexed():
    start = live_feed_end()
    for number, stamp in enumerate(["10:00:05", "10:00:01", "10:00:03"]):
        live_feed_append(
            owner="7",
            ingested_at=f"2026-12-03T{stamp}.000Z",
            source_field="file_id",
            source_value="out-of-order",
            lines=(number * 10 + 1, number * 10 + 10),
            count=10,
        )

    # Stamped before they were sent, indexed in another order: the feed follows indexing, not the stamps.
    assert [batch.first_line for batch in batches_of("out-of-order", start)] == [1, 11, 21]


def test_redis_away_never_fails_the_indexing_and_says_so_in_the_log(caplog):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"), caplog.at_level(logging.WARNING, "ingestion.live"):
        live_feed_append(
            owner="7",
            ingested_at="2026-12-03T10:00:00.000Z",
            source_field="file_id",
            source_value="no-redis",
            lines=(1, 10),
            count=10,
        )

    assert "live feed unavailable" in caplog.text
    assert get_redis().ping()
