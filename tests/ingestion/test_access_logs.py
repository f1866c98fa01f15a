"""Raw web server access logs (.log, .log.gz) end to end: parsed into request fields, broken lines rejected."""

import pytest

from ingestion import repository as ingestion_repo
from tests.datafiles import APACHE_ACCESS_LOG
from tests.helpers import count_documents, documents_of, gzipped, upload, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)

COMMON_FORMAT = (
    b'203.0.113.9 - frank [10/Oct/2023:13:55:36 -0700] "GET /basket HTTP/1.1" 200 2326\n'
    b'203.0.113.9 - frank [10/Oct/2023:13:55:41 -0700] "POST /checkout HTTP/1.1" 302 -\n'
    b'198.51.100.20 - - [10/Oct/2023:13:56:02 -0700] "GET /products/42 HTTP/1.1" 404 512\n'
)


def test_the_real_apache_log_is_indexed_line_by_line_and_its_broken_line_rejected(celery_worker, api_client):
    data, job = upload_and_wait(api_client, APACHE_ACCESS_LOG.name, APACHE_ACCESS_LOG.read_bytes())

    assert (data["file_type"], data["total_lines"]) == ("log", 10_000)
    assert job["status"] == "completed_with_errors"
    assert job["log_type"] == "access"
    assert job["counts"] == {
        "total_lines": 10_000,
        "indexed": 9_999,
        "dead_lettered": 1,
        "fallback": 0,
        "skipped_blank": 0,
    }
    assert count_documents(data["file_id"]) == 9_999
    (rejected,) = ingestion_repo.dead_letters_page(job["job_id"], skip=0, limit=10)
    assert rejected["line"] == 8899
    assert rejected["reason"] == (
        "Not an access-log line in the Apache/Nginx common or combined format: a quoted field (request, "
        "referrer or user agent) is not closed"
    )
    assert rejected["raw"].endswith('"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html')
    first = documents_of(data["file_id"], size=1)[0]
    assert first["@timestamp"] == "2015-05-17T10:05:03.000Z"
    assert (first["ip"], first["method"], first["http_status"], first["bytes"]) == ("83.149.9.216", "GET", 200, 203023)
    assert first["url"] == "/presentations/logstash-monitorama-2013/images/kibana-search.png"
    assert first["referrer"] == "http://semicomplete.com/presentations/logstash-monitorama-2013/"
    assert first["user_agent"].startswith("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1)")
    assert first["geo"]["country_iso_code"] == "RU"


def test_a_gzipped_log_in_the_common_format_is_indexed(celery_worker, api_client):
    data, job = upload_and_wait(api_client, "shop-access.log.gz", gzipped(COMMON_FORMAT))

    assert data["file_type"] == "log.gz"
    assert job["status"] == "completed"
    documents = documents_of(data["file_id"])
    assert [(row["method"], row["url"], row["http_status"], row["bytes"]) for row in documents] == [
        ("GET", "/basket", 200, 2326),
        ("POST", "/checkout", 302, 0),
        ("GET", "/products/42", 404, 512),
    ]
    assert documents[0]["user_id"] == "frank"
    assert documents[0]["@timestamp"] == "2023-10-10T20:55:36.000Z"


def test_a_log_file_of_another_kind_is_refused_with_the_formats_that_are_accepted(api_client):
    application_log = b"2024-05-01 10:00:00 INFO shop started\n2024-05-01 10:00:01 ERROR payment refused\n"

    response = upload(api_client, "shop.log", application_log)

    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "This .log file is not a web server access log: line 1 is not in the Apache/Nginx common or "
        "combined format. Accepted are access logs in that format, CSV, JSON and NDJSON: save a spreadsheet as "
        "CSV, or export the logs as NDJSON (one JSON object per line).",
    }
