"""Each real server, written to and read back through the project's own clients."""

import datetime as dt
import uuid

import orjson
import pytest
import redis
from django.conf import settings
from django_celery_results.models import TaskResult

from config.celery import ping
from config.es import get_es
from config.mongo import get_database


def test_mongodb_stores_and_returns_a_document():
    collection = get_database()["server_roundtrip"]
    key = uuid.uuid4().hex
    created = dt.datetime(2016, 12, 1, 0, 4, 19, tzinfo=dt.UTC)

    collection.insert_one({"_id": key, "order_id": 584677, "created": created, "tags": ["Men's Clothing"]})
    found = collection.find_one({"_id": key})
    collection.delete_one({"_id": key})

    assert found["order_id"] == 584677
    assert found["created"] == created
    assert found["tags"] == ["Men's Clothing"]


def test_redis_stores_and_returns_a_value():
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"roundtrip:{uuid.uuid4().hex}"

    client.set(key, "8.8.8.8", ex=60)

    assert client.get(key) == b"8.8.8.8"


@pytest.fixture
def geo_index():
    es = get_es()
    name = f"test-roundtrip-{uuid.uuid4().hex[:8]}"
    es.indices.put_index_template(
        name=name,
        index_patterns=[f"{name}-*"],
        template={
            "mappings": {
                "properties": {
                    "@timestamp": {"type": "date"},
                    "ip": {"type": "ip"},
                    "location": {"type": "geo_point"},
                    "country": {"type": "keyword"},
                }
            }
        },
    )
    yield f"{name}-2018.07.22"
    es.indices.delete(index=f"{name}-2018.07.22", ignore_unavailable=True)
    es.indices.delete_index_template(name=name)


def test_elasticsearch_indexes_through_a_template_and_aggregates_by_day(geo_index):
    es = get_es()
    rows = [
        ("2018-07-22T00:39:02Z", "223.87.60.27", 30.66, 104.06, "CN"),
        ("2018-07-22T03:30:25Z", "130.246.123.197", 51.57, -1.31, "GB"),
        ("2018-07-23T08:15:00Z", "8.8.8.8", 37.42, -122.08, "US"),
    ]
    body = b"".join(
        orjson.dumps({"index": {"_index": geo_index}})
        + b"\n"
        + orjson.dumps({"@timestamp": ts, "ip": ip, "location": {"lat": lat, "lon": lon}, "country": country})
        + b"\n"
        for ts, ip, lat, lon, country in rows
    )

    result = es.bulk(body=body, refresh=True)
    mapping = es.indices.get_mapping(index=geo_index)[geo_index]["mappings"]["properties"]
    search = es.search(
        index=geo_index,
        size=0,
        aggs={
            "per_day": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day"}},
            "bounds": {"geo_bounds": {"field": "location"}},
        },
        query={"term": {"ip": "8.8.0.0/16"}},
    )

    assert result["errors"] is False
    assert mapping["location"]["type"] == "geo_point"
    assert search["hits"]["total"]["value"] == 1
    assert [bucket["doc_count"] for bucket in search["aggregations"]["per_day"]["buckets"]] == [1]
    assert es.count(index=geo_index)["count"] == 3


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_and_its_result_lands_in_django_celery_results(celery_worker):
    result = ping.delay()

    assert result.get(timeout=30) == "pong"
    stored = TaskResult.objects.get(task_id=result.id)
    assert stored.status == "SUCCESS"
    assert stored.task_name == "config.ping"
