"""The daily-index template and the fallback index, on the real Elasticsearch."""

from uuid import uuid4

import pytest
from django.test import override_settings

from config.es import get_es
from ingestion import documents
from ingestion.bulk import encode, send
from ingestion.documents import daily_index, ensure_index_templates
from tests.helpers import delete_prefix


@pytest.fixture(scope="module")
def prefix():
    """A prefix of this module alone, outside `test-logs-ecom-*` which other test sessions wipe when they start."""
    name = f"test-templates-{uuid4().hex[:6]}"
    yield name
    delete_prefix(name)


def index_one(prefix: str, doc: dict, *, line: int, timestamp: str = "2016-12-01T00:04:19.000Z"):
    doc = {"@timestamp": timestamp, "file_id": "templates", "line": line, **doc}
    body = encode(doc, index=daily_index(prefix, timestamp), file_id="templates", line=line)
    return send(get_es(), body)


def field_types(mapping: dict, path: str = "") -> dict[str, str]:
    types = {}
    for name, field in mapping.get("properties", {}).items():
        full = f"{path}{name}"
        if "type" in field:
            types[full] = field["type"]
        types.update(field_types(field, f"{full}."))
        for sub_name, sub_field in field.get("fields", {}).items():
            types[f"{full}.{sub_name}"] = sub_field["type"]
    return types


def test_a_new_daily_index_gets_the_declared_field_types(prefix):
    ensure_index_templates(get_es(), prefix)
    doc = {
        "log_type": "transaction",
        "user_id": "u1",
        "session_id": "s1",
        "amount": 12,
        "currency": "EUR",
        "order_id": "536370",
        "cancellation": False,
        "job_id": "j1",
        "geo_status": "found",
        "ip": "8.8.8.8",
        "geo": {"country_iso_code": "US", "country_name": "United States", "city_name": "Mountain View"},
        "message": "paid",
        "browser": "Firefox",
        "bytes": 6219,
        "ratio": 0.5,
        "when": "2016-12-01",
        "count_text": "42",
    }
    doc["geo"]["location"] = {"lat": 37.42, "lon": -122.08}

    assert index_one(prefix, doc, line=1).indexed == 1

    index = daily_index(prefix, "2016-12-01T00:04:19.000Z")
    mapping = get_es().indices.get_mapping(index=index)[index]["mappings"]
    types = field_types(mapping)
    assert types["@timestamp"] == "date"
    for keyword in ("log_type", "user_id", "session_id", "currency", "order_id", "job_id", "file_id", "geo_status"):
        assert types[keyword] == "keyword", keyword
    assert types["cancellation"] == "boolean"
    assert types["amount"] == "double"
    assert types["ip"] == "ip"
    assert types["geo.country_iso_code"] == types["geo.country_name"] == types["geo.city_name"] == "keyword"
    assert types["geo.location"] == "geo_point"
    assert types["line"] == "long"
    assert types["message"] == "text"
    assert types["stream"] == types["stream_id"] == "keyword"
    assert types["ingested_at"] == "date"
    # Dynamic fields: strings are keyword + text, numbers double, and nothing is guessed as a date or number.
    assert types["browser"] == "keyword"
    assert types["browser.text"] == "text"
    assert mapping["properties"]["browser"]["ignore_above"] == 1024
    assert types["bytes"] == types["ratio"] == "double"
    assert types["when"] == types["count_text"] == "keyword"


def test_a_daily_index_made_before_streams_gets_their_fields_mapped_as_declared(prefix):
    es = get_es()
    older = f"{prefix}-2015.01.01"
    es.indices.create(index=older, mappings={"properties": {"message": {"type": "text"}}})
    documents._ensured.discard(prefix)

    ensure_index_templates(es, prefix)

    types = field_types(es.indices.get_mapping(index=older)[older]["mappings"])
    assert types["ingested_at"] == "date"
    assert types["stream"] == types["stream_id"] == "keyword"


def test_daily_indices_have_one_shard_no_replica_and_a_one_second_refresh(prefix):
    ensure_index_templates(get_es(), prefix)
    index_one(prefix, {"message": "settings"}, line=2, timestamp="2016-12-02T10:00:00Z")

    index = daily_index(prefix, "2016-12-02T10:00:00Z")
    settings = get_es().indices.get_settings(index=index)[index]["settings"]["index"]
    assert settings["number_of_shards"] == "1"
    assert settings["number_of_replicas"] == "0"
    assert settings["refresh_interval"] == "1s"


def test_on_a_cluster_the_template_and_the_fallback_index_ask_for_the_configured_replicas():
    es = get_es()
    prefix = f"test-replicas-{uuid4().hex[:6]}"
    try:
        with override_settings(LOGS_INDEX_REPLICAS=1):
            ensure_index_templates(es, prefix)

        template = es.indices.get_index_template(name=prefix)["index_templates"][0]["index_template"]
        fallback = es.indices.get_settings(index=f"{prefix}-fallback")[f"{prefix}-fallback"]["settings"]["index"]
        assert template["template"]["settings"]["index"]["number_of_replicas"] == "1"
        assert fallback["number_of_replicas"] == "1"
    finally:
        delete_prefix(prefix)


def test_the_alias_covers_daily_indices_and_not_the_fallback_index(prefix):
    es = get_es()
    ensure_index_templates(es, prefix)
    index_one(prefix, {"message": "day one"}, line=3, timestamp="2016-12-03T00:00:00Z")
    index_one(prefix, {"message": "day two"}, line=4, timestamp="2016-12-04T00:00:00Z")

    aliased = set(es.indices.get_alias(name=prefix))

    assert {daily_index(prefix, "2016-12-03"), daily_index(prefix, "2016-12-04")} <= aliased
    assert f"{prefix}-fallback" not in aliased


def test_the_fallback_index_stores_rejections_without_dynamic_fields(prefix):
    es = get_es()
    ensure_index_templates(es, prefix)

    mapping = es.indices.get_mapping(index=f"{prefix}-fallback")[f"{prefix}-fallback"]["mappings"]

    assert mapping["dynamic"] == "false"
    assert field_types(mapping) == {
        "job_id": "keyword",
        "file_id": "keyword",
        "stream_id": "keyword",
        "stream": "keyword",
        "line": "long",
        "raw": "text",
        "reason": "text",
        "@timestamp": "date",
    }
    assert not es.indices.get_alias(index=f"{prefix}-fallback")[f"{prefix}-fallback"]["aliases"]


def test_a_string_in_a_dynamic_numeric_field_is_a_rejection(prefix):
    ensure_index_templates(get_es(), prefix)
    index_one(prefix, {"response_bytes": 512}, line=5)

    outcome = index_one(prefix, {"response_bytes": "a lot"}, line=6)

    assert outcome.indexed == 0
    [(line, reason)] = outcome.rejected
    assert line == 6
    assert reason.startswith("document_parsing_exception: ")
    assert "[response_bytes]" in reason


def test_ensuring_the_templates_again_in_another_process_is_harmless(prefix):
    es = get_es()
    ensure_index_templates(es, prefix)
    documents._ensured.discard(prefix)  # as a fresh worker process would start

    ensure_index_templates(es, prefix)

    assert es.indices.exists(index=f"{prefix}-fallback")


def test_the_daily_index_is_named_after_the_event_day():
    assert daily_index("logs-ecom", "2016-12-01T00:04:19.000Z") == "logs-ecom-2016.12.01"


def test_a_timestamp_without_a_calendar_date_is_refused():
    with pytest.raises(ValueError):
        daily_index("logs-ecom", "01/12/2016 00:04")
