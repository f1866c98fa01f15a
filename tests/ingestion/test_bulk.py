"""Bulk indexing, rejections, fallback and deletion of real web access logs on the real Elasticsearch."""

from itertools import islice
from uuid import uuid4

import orjson
import pytest

from config.es import get_es
from ingestion import geoip
from ingestion.bulk import (
    TransientIndexError,
    body_lines,
    delete_file_documents,
    document_id,
    encode,
    iter_bodies,
    refresh,
    send,
    write_fallback,
)
from ingestion.documents import daily_index, ensure_index_templates
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import delete_prefix

ROWS = 2000
JOB_ID = "job-bulk"


@pytest.fixture(scope="module")
def prefix():
    """A prefix of this module alone, outside `test-logs-ecom-*` which other test sessions wipe when they start."""
    name = f"test-bulk-{uuid4().hex[:6]}"
    ensure_index_templates(get_es(), name)
    yield name
    delete_prefix(name)


def web_access_docs(file_id: str, count: int, *, start: int = 0) -> list[dict]:
    """Real rows, minimally transformed the way the pipeline will: timestamp, ids, line, ip and geo."""
    docs = []
    with open(WEB_ACCESS_LOGS, "rb") as rows:
        for line, raw in enumerate(islice(rows, start, start + count), start=start + 1):
            doc = orjson.loads(raw)
            doc.update({"@timestamp": doc["timestamp"], "file_id": file_id, "job_id": JOB_ID, "line": line})
            doc["ip"] = doc["clientip"]
            geoip.enrich(doc)
            docs.append(doc)
    return docs


def write_bulk_file(path, prefix: str, docs: list[dict]) -> None:
    with open(path, "wb") as out:
        for doc in docs:
            index = daily_index(prefix, doc["@timestamp"])
            out.write(encode(doc, index=index, file_id=doc["file_id"], line=doc["line"]))


def send_file(path, *, max_docs: int = 5000) -> int:
    return sum(send(get_es(), body).indexed for body in iter_bodies(path.open("rb"), max_docs=max_docs))


def count(prefix: str, file_id: str) -> int:
    return get_es().count(index=prefix, query={"term": {"file_id": file_id}})["count"]


@pytest.fixture(scope="module")
def indexed_file(prefix, tmp_path_factory):
    """2,000 web access rows of one upload, indexed through a prebuilt bulk file in bodies of 500."""
    path = tmp_path_factory.mktemp("bulk") / "web.bulk"
    write_bulk_file(path, prefix, web_access_docs("web-file", ROWS))
    indexed = send_file(path, max_docs=500)
    refresh(get_es(), prefix)
    return path, indexed


def test_a_body_names_the_first_and_last_upload_line_it_holds(prefix, indexed_file):
    path, _indexed = indexed_file

    assert [body_lines(body) for body in iter_bodies(path.open("rb"), max_docs=800)] == [
        (1, 800),
        (801, 1600),
        (1601, 2000),
    ]
    assert body_lines(next(iter_bodies(path.open("rb"), max_docs=1))) == (1, 1)


def test_every_row_sent_is_searchable_through_the_alias(prefix, indexed_file):
    _, indexed = indexed_file

    assert indexed == ROWS
    assert count(prefix, "web-file") == ROWS


def test_the_rows_land_in_one_index_per_event_day(prefix, indexed_file):
    days = {doc["@timestamp"][:10] for doc in web_access_docs("web-file", ROWS)}

    indices = set(get_es().indices.get_alias(name=prefix))

    assert len(days) >= 2
    assert {daily_index(prefix, day) for day in days} == indices


def test_resending_the_same_rows_does_not_duplicate_documents(prefix, indexed_file):
    path, _ = indexed_file

    indexed_again = send_file(path)
    refresh(get_es(), prefix)

    assert indexed_again == ROWS  # each comes back as "updated"
    assert count(prefix, "web-file") == ROWS


def test_documents_have_deterministic_ids_from_upload_and_line(prefix, indexed_file):
    doc = get_es().get(index=daily_index(prefix, "2018-07-22"), id=document_id("web-file", 1))

    assert doc["_id"] == "web-file:1"
    assert doc["_source"]["clientip"] == "223.87.60.27"
    assert doc["_source"]["geo"]["country_iso_code"] == "CN"


def test_a_date_histogram_and_geo_bounds_work_on_the_indexed_rows(prefix, indexed_file):
    response = get_es().search(
        index=prefix,
        size=0,
        query={"term": {"file_id": "web-file"}},
        aggs={
            "per_day": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day"}},
            "area": {"geo_bounds": {"field": "geo.location"}},
        },
    )

    buckets = response["aggregations"]["per_day"]["buckets"]
    assert len(buckets) >= 2
    assert sum(bucket["doc_count"] for bucket in buckets) == ROWS
    bounds = response["aggregations"]["area"]["bounds"]
    assert bounds["top_left"]["lat"] > bounds["bottom_right"]["lat"]
    assert bounds["top_left"]["lon"] < bounds["bottom_right"]["lon"]


def test_a_mapping_conflict_is_rejected_with_its_line_and_stored_in_the_fallback_index(prefix, indexed_file):
    es = get_es()
    [doc] = web_access_docs("conflict-file", 1)
    doc["bytes"] = "six kilobytes"  # "bytes" is already a number in this index
    raw = orjson.dumps(doc).decode()
    body = encode(doc, index=daily_index(prefix, doc["@timestamp"]), file_id="conflict-file", line=1)

    outcome = send(es, body)

    assert outcome.indexed == 0
    [(line, reason)] = outcome.rejected
    assert line == 1
    assert "failed to parse field [bytes] of type [double]" in reason

    write_fallback(
        es, prefix, [{"job_id": JOB_ID, "file_id": "conflict-file", "line": 1, "raw": raw, "reason": reason}]
    )
    refresh(es, prefix)

    stored = es.get(index=f"{prefix}-fallback", id=document_id("conflict-file", 1))["_source"]
    assert stored["raw"] == raw
    assert stored["reason"] == reason
    assert stored["line"] == 1
    assert "@timestamp" in stored
    assert count(prefix, "conflict-file") == 0


def test_deleting_an_upload_removes_exactly_its_documents(prefix, indexed_file, tmp_path):
    es = get_es()
    path = tmp_path / "other.bulk"
    doomed = web_access_docs("doomed-file", 700, start=ROWS)
    write_bulk_file(path, prefix, doomed)
    send_file(path, max_docs=300)
    write_fallback(es, prefix, [{"job_id": JOB_ID, "file_id": "doomed-file", "line": 9999, "raw": "{", "reason": "x"}])
    refresh(es, prefix)
    assert count(prefix, "doomed-file") == 700

    deleted = delete_file_documents(es, prefix, "doomed-file")

    assert deleted.documents == 701
    days = {daily_index(prefix, doc["@timestamp"]) for doc in doomed}
    assert deleted.indices == days | {f"{prefix}-fallback"}
    assert es.count(index=f"{prefix},{prefix}-fallback", query={"term": {"file_id": "doomed-file"}})["count"] == 0
    assert count(prefix, "web-file") == ROWS


def test_deleting_an_upload_with_no_documents_deletes_nothing(prefix):
    assert delete_file_documents(get_es(), prefix, "never-uploaded") == (0, frozenset())


def test_deleting_under_a_prefix_without_indices_is_harmless():
    assert delete_file_documents(get_es(), f"test-bulk-{uuid4().hex[:6]}", "any-file").documents == 0


def test_a_write_into_an_index_blocked_for_the_empty_check_is_retried_not_rejected(prefix, tmp_path):
    es = get_es()
    docs = web_access_docs("blocked-file", 3, start=ROWS + 800)
    index = daily_index(prefix, docs[0]["@timestamp"])
    es.indices.create(index=index)
    es.indices.add_block(index=index, block="write")
    path = tmp_path / "blocked.bulk"
    write_bulk_file(path, prefix, docs)
    body = next(iter_bodies(path.open("rb")))

    try:
        with pytest.raises(TransientIndexError, match="cluster_block_exception"):
            send(es, body)
    finally:
        es.indices.put_settings(index=index, settings={"index.blocks.write": None})

    assert send(es, body).indexed == 3


def test_an_unreachable_elasticsearch_is_a_transient_error(settings, indexed_file):
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:1"
    path, _ = indexed_file
    body = next(iter_bodies(path.open("rb"), max_docs=10))

    with pytest.raises(TransientIndexError):
        send(get_es(), body)


def test_bodies_respect_the_document_and_byte_bounds_and_keep_every_line(indexed_file):
    path, _ = indexed_file
    whole = path.read_bytes()

    by_docs = list(iter_bodies(path.open("rb"), max_docs=300))
    by_bytes = list(iter_bodies(path.open("rb"), max_bytes=100_000))

    assert b"".join(by_docs) == whole == b"".join(by_bytes)
    assert [body.count(b"\n") // 2 for body in by_docs] == [300] * 6 + [200]
    assert all(len(body) <= 100_000 for body in by_bytes)
    assert len(by_bytes) > 1


def test_a_bulk_file_cut_between_action_and_source_is_refused(tmp_path):
    path = tmp_path / "cut.bulk"
    path.write_bytes(encode({"a": 1}, index="i", file_id="f", line=1) + b'{"index":{"_index":"i","_id":"f:2"}}\n')

    with pytest.raises(ValueError):
        list(iter_bodies(path.open("rb")))


def test_encoding_gives_an_action_line_and_a_source_line():
    encoded = encode({"message": 'say "hi"', "line": 7}, index="logs-ecom-2016.12.01", file_id="f1", line=7)

    action, source, end = encoded.split(b"\n")
    assert orjson.loads(action) == {"index": {"_index": "logs-ecom-2016.12.01", "_id": "f1:7"}}
    assert orjson.loads(source) == {"message": 'say "hi"', "line": 7}
    assert end == b""
