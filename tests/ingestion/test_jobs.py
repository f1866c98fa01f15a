"""Jobs end to end: real uploads through the API, processed by the real worker into real Elasticsearch."""

import datetime as dt

import pytest

from ingestion import repository as ingestion_repo
from tests.datafiles import RECORD_COUNTS
from tests.helpers import (
    count_documents,
    data_lines,
    documents_of,
    fallback_documents,
    upload,
    upload_and_wait,
    wait_for_job,
)

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS_CSV = (
    "InvoiceNo{d}StockCode{d}Description{d}Quantity{d}InvoiceDate{d}UnitPrice{d}CustomerID{d}Country\n"
    '536370{d}22728{d}"ALARM CLOCK BAKELIKE PINK"{d}24{d}12/1/2010 8:45{d}3.75{d}12583{d}France\n'
    '536370{d}22727{d}"ALARM CLOCK, ""RED""\nBAKELIKE"{d}24{d}12/1/2010 8:45{d}3.75{d}12583{d}France\n'
    'C536548{d}22168{d}"ORGANISER WOOD ANTIQUE"{d}-2{d}12/1/2010 14:33{d}7.95{d}12472{d}Germany\n'
)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_csv_dialect_is_parsed_with_quoted_newlines_and_quotes(celery_worker, api_client, delimiter):
    content = ORDERS_CSV.format(d=delimiter).encode()

    data, job = upload_and_wait(api_client, "orders.csv", content)

    assert data["total_lines"] == 3
    assert job["status"] == "completed"
    documents = documents_of(data["file_id"])
    assert [document["line"] for document in documents] == [2, 3, 5]
    assert documents[1]["Description"] == 'ALARM CLOCK, "RED"\nBAKELIKE'
    assert documents[2]["InvoiceNo"] == "C536548"
    assert documents[0]["Quantity"] == 24
    assert documents[0]["@timestamp"] == "2010-12-01T08:45:00.000Z"


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("latin-1", b"")],
)
def test_each_encoding_is_decoded(celery_worker, api_client, encoding, prefix):
    content = prefix + "timestamp,city,amount\n2024-03-01T10:00:00Z,Besançon,12.5\n".encode(encoding)

    data, job = upload_and_wait(api_client, "cities.csv", content)

    assert job["status"] == "completed"
    document = documents_of(data["file_id"])[0]
    assert document["city"] == "Besançon"
    assert document["amount"] == 12.5


def test_a_json_array_is_indexed_element_by_element(celery_worker, api_client):
    lines = data_lines("ecommerce_orders.ndjson", 15).decode().splitlines()
    content = ("[\n" + ",\n".join(lines) + "\n]\n").encode()

    data, job = upload_and_wait(api_client, "orders.json", content)

    assert data["total_lines"] == 15
    assert job["status"] == "completed"
    assert count_documents(data["file_id"]) == 15
    assert documents_of(data["file_id"])[0]["log_type"] == "order"


def test_malformed_rows_become_dead_letters_with_their_line_numbers(celery_worker, api_client):
    good = data_lines("web_access_logs.ndjson", 6).splitlines(keepends=True)
    content = b"".join([good[0], good[1], b'{"timestamp": "2018-07-22T01:00:00Z", "clientip": \n', good[2]])
    content += b"\n" + good[3] + b'{"clientip": "8.8.8.8"}\n' + good[4] + b'{"timestamp": "yesterday-ish"}\n'

    data, job = upload_and_wait(api_client, "mixed.ndjson", content)

    assert job["status"] == "completed_with_errors"
    assert job["counts"] == {"total_lines": 9, "indexed": 5, "dead_lettered": 3, "fallback": 0, "skipped_blank": 1}
    assert [error["line"] for error in job["errors"]] == [3, 7, 9]
    letters = ingestion_repo.dead_letters_page(data["job_id"], skip=0, limit=10)
    assert [letter["line"] for letter in letters] == [3, 7, 9]
    assert letters[0]["raw"].startswith('{"timestamp": "2018-07-22T01:00:00Z"')
    assert "timestamp" in letters[1]["reason"]


def test_a_mapping_conflict_goes_to_the_fallback_index_with_the_raw_line(celery_worker, api_client):
    content = (
        b'{"timestamp": "2024-05-01T10:00:00Z", "order_id": "A-1", "quantity": 3}\n'
        b'{"timestamp": "2024-05-01T10:05:00Z", "order_id": "A-2", "quantity": "three"}\n'
    )

    data, job = upload_and_wait(api_client, "conflict.ndjson", content)

    assert job["status"] == "completed_with_errors"
    assert job["counts"]["indexed"] == 1
    assert job["counts"]["fallback"] == 1
    fallback = fallback_documents(data["file_id"])
    assert [row["line"] for row in fallback] == [2]
    assert '"quantity": "three"' in fallback[0]["raw"]
    assert "quantity" in fallback[0]["reason"]


def test_events_on_two_days_land_in_two_daily_indices(celery_worker, api_client):
    content = (
        b'{"timestamp": "2024-05-01T23:59:59+00:00", "event": "checkout"}\n'
        b'{"timestamp": "2024-05-02T01:00:00+02:00", "event": "checkout"}\n'
        b'{"timestamp": "2024-05-02T00:00:01Z", "event": "checkout"}\n'
    )

    data, job = upload_and_wait(api_client, "days.ndjson", content)

    assert [index.rsplit("-", 1)[1] for index in job["indices"]] == ["2024.05.01", "2024.05.02"]
    assert [document["_index"][-10:] for document in documents_of(data["file_id"])] == [
        "2024.05.01",
        "2024.05.01",
        "2024.05.02",
    ]


def test_a_public_ip_is_enriched_and_a_private_one_is_kept_but_flagged(celery_worker, api_client):
    content = (
        b'{"timestamp": "2024-05-01T10:00:00Z", "client_ip": "8.8.8.8"}\n'
        b'{"timestamp": "2024-05-01T10:00:01Z", "client_ip": "10.1.2.3"}\n'
    )

    data, _job = upload_and_wait(api_client, "ips.ndjson", content)

    public, private = documents_of(data["file_id"])
    assert public["ip"] == "8.8.8.8"
    assert public["geo"]["country_iso_code"] == "US"
    assert set(public["geo"]["location"]) == {"lat", "lon"}
    assert private["ip"] == "10.1.2.3"
    assert private["geo_status"] == "private"
    assert "country_iso_code" not in private.get("geo", {})


def test_geo_location_is_a_geo_point_in_elasticsearch(celery_worker, api_client):
    from django.conf import settings

    from config.es import get_es

    data, _job = upload_and_wait(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 50))

    result = get_es().search(
        index=settings.LOGS_INDEX_PREFIX,
        size=0,
        query={"term": {"file_id": data["file_id"]}},
        aggs={"box": {"geo_bounds": {"field": "geo.location"}}},
    )
    assert "top_left" in result["aggregations"]["box"]["bounds"]


def test_retrying_a_finished_job_keeps_the_same_document_count(celery_worker, api_client):
    data, first = upload_and_wait(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 40))

    response = api_client.post(f"/api/logs/jobs/{data['job_id']}/retry")
    second = wait_for_job(api_client, data["job_id"])

    assert response.status_code == 202
    assert second["attempt"] == 2
    assert second["counts"] == first["counts"]
    assert count_documents(data["file_id"]) == 40


def test_a_finished_job_leaves_one_job_finished_event_per_attempt(celery_worker, api_client):
    started = dt.datetime.now(dt.UTC)
    data, _first = upload_and_wait(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 8))
    api_client.post(f"/api/logs/jobs/{data['job_id']}/retry")
    wait_for_job(api_client, data["job_id"])

    events = [event for event in ingestion_repo.events_since(started) if event["job_id"] == data["job_id"]]

    assert [(event["attempt"], event["status"], event["kind"]) for event in events] == [
        (1, "completed", "job.finished"),
        (2, "completed", "job.finished"),
    ]
    assert events[0]["file_id"] == data["file_id"]


def test_another_users_job_is_not_found(celery_worker, api_client, other_client):
    response = upload(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 3))
    job_id = response.json()["data"]["job_id"]

    assert other_client.get(f"/api/logs/jobs/{job_id}").status_code == 404
    assert other_client.post(f"/api/logs/jobs/{job_id}/retry").status_code == 404
    wait_for_job(api_client, job_id)


def test_the_upload_list_shows_only_my_uploads_filtered_by_status(celery_worker, api_client, other_client):
    mine, _ = upload_and_wait(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 3))
    upload_and_wait(other_client, "web.ndjson", data_lines("web_access_logs.ndjson", 3))

    page = api_client.get("/api/logs/uploads", {"status": "completed", "page_size": 50}).json()

    assert mine["file_id"] in [item["file_id"] for item in page["results"]]
    assert all(item["status"] == "completed" for item in page["results"])
    assert page["count"] == len(page["results"])
    assert api_client.get("/api/logs/uploads", {"status": "failed"}).json()["count"] == 0


def test_deleting_an_upload_removes_its_documents_and_its_record(celery_worker, api_client):
    data, _job = upload_and_wait(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 20))

    response = api_client.delete(f"/api/logs/uploads/{data['file_id']}")

    assert response.status_code == 200
    assert response.json()["documents_deleted"] == 20
    assert count_documents(data["file_id"]) == 0
    assert api_client.get(f"/api/logs/jobs/{data['job_id']}").status_code == 404


@pytest.mark.parametrize(("path", "rows"), RECORD_COUNTS.items(), ids=lambda value: getattr(value, "name", value))
def test_every_accepted_shared_data_file_is_indexed_to_the_last_row(celery_worker, api_client, path, rows):
    data, job = upload_and_wait(api_client, path.name, path.read_bytes())

    counts = job["counts"]
    assert data["total_lines"] == rows
    assert counts["indexed"] + counts["fallback"] + counts["dead_lettered"] + counts["skipped_blank"] == rows
    assert count_documents(data["file_id"]) == counts["indexed"]
    assert counts["indexed"] == rows, job["errors"]
