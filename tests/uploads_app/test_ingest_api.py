"""POST /api/ingest: NDJSON from shippers, through the real API, queued durably, indexed by the real worker."""

import base64
import gzip

import orjson
import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.celery import app as celery_app
from config.es import get_es
from tests.conftest import wait_until
from tests.datafiles import APACHE_ACCESS_LOG, WEB_ACCESS_LOGS
from tests.helpers import data_lines, worker_paused

pytestmark = pytest.mark.django_db(transaction=True)

ACCESS = data_lines(WEB_ACCESS_LOGS.name, 200)
APACHE = data_lines(APACHE_ACCESS_LOG.name, 3)


def whole_lines(size: int, start: int = 0) -> bytes:
    """About `size` bytes of the access log from `start`, cut at line ends."""
    head = ACCESS[start:].partition(b"\n")[2] if start else ACCESS
    return head[:size].rpartition(b"\n")[0] + b"\n"


def ingest(client, body: bytes, **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return client.post(f"/api/ingest?{query}", data=body, content_type="application/x-ndjson")


def refresh() -> None:
    get_es().indices.refresh(index=settings.LOGS_INDEX_PREFIX, ignore_unavailable=True, allow_no_indices=True)


def stream_documents(stream_id: str, size: int = 500) -> list[dict]:
    refresh()
    found = get_es().search(
        index=settings.LOGS_INDEX_PREFIX, query={"term": {"stream_id": stream_id}}, size=size, sort=["_doc"]
    )
    return [hit["_source"] | {"_id": hit["_id"]} for hit in found["hits"]["hits"]]


def count_stream(stream_id: str) -> int:
    refresh()
    query = {"term": {"stream_id": stream_id}}
    return get_es().count(index=settings.LOGS_INDEX_PREFIX, query=query, ignore_unavailable=True)["count"]


def stream_counts(client, stream_id: str) -> dict:
    return client.get(f"/api/logs/streams/{stream_id}").json()["counts"]


def settled(client, stream_id: str) -> dict | None:
    """The stream's counts once nothing is pending."""
    counts = stream_counts(client, stream_id)
    return counts if counts["pending"] == 0 else None


def key_client(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


def test_access_log_lines_are_accepted_then_indexed_in_their_stream(celery_worker, api_client, user):
    response = ingest(api_client, ACCESS, stream="web", log_type="web_access")

    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"], body["errors"]) == (200, 0, [])
    stream_id = body["stream_id"]
    wait_until(lambda: count_stream(stream_id) == 200)
    document = stream_documents(stream_id)[0]
    assert document["stream"] == "web" and document["stream_id"] == stream_id
    assert document["owner"] == str(user.pk) and document["log_type"] == "web_access"
    assert document["ingested_at"] and document["geo_status"]
    counts = wait_until(lambda: settled(api_client, stream_id))
    assert counts == {"received": 200, "indexed": 200, "dead_lettered": 0, "fallback": 0, "pending": 0}


def test_a_gzip_body_is_taken_like_the_plain_one(celery_worker, api_client):
    response = api_client.post(
        "/api/ingest?stream=gz",
        data=gzip.compress(whole_lines(20_000)),
        content_type="application/x-ndjson",
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert response.status_code == 202
    lines = whole_lines(20_000).count(b"\n")
    assert response.json()["accepted"] == lines
    wait_until(lambda: count_stream(response.json()["stream_id"]) == lines)


def test_lines_that_are_not_events_are_rejected_with_their_line_and_reason(celery_worker, api_client):
    good = ACCESS.splitlines(keepends=True)
    body = (
        good[0]
        + APACHE.splitlines(keepends=True)[0]
        + b"\n"
        + b'["an", "array"]\n'
        + b'{"message": "no time"}\n'
        + b'{"timestamp": "last tuesday", "clientip": "1.2.3.4"}\n'
        + good[1]
    )

    response = ingest(api_client, body, stream="mixed")

    assert response.status_code == 202
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (2, 4)
    assert [error["line"] for error in result["errors"]] == [2, 4, 5, 6]
    reasons = [error["reason"] for error in result["errors"]]
    assert reasons[0].startswith("Not valid JSON")
    assert reasons[1:] == [
        "Not a JSON object",
        "No timestamp field (such as @timestamp, timestamp or time)",
        "Unparseable timestamp 'last tuesday' in field 'timestamp'",
    ]
    counts = wait_until(lambda: settled(api_client, result["stream_id"]))
    assert counts == {"received": 6, "indexed": 2, "dead_lettered": 4, "fallback": 0, "pending": 0}


def test_a_document_elasticsearch_refuses_goes_to_the_fallback_index_and_the_counts_add_up(celery_worker, api_client):
    records = [orjson.loads(line) for line in ACCESS.splitlines()[:3]]
    records[1]["bytes"] = {"sent": 10}  # a number elsewhere: the mapping refuses an object here
    body = b"".join(orjson.dumps(record) + b"\n" for record in records) + b"not json\n"

    result = ingest(api_client, body, stream="conflicts").json()

    counts = wait_until(lambda: settled(api_client, result["stream_id"]))
    assert counts == {"received": 4, "indexed": 2, "dead_lettered": 1, "fallback": 1, "pending": 0}
    fallback_index = f"{settings.LOGS_INDEX_PREFIX}-fallback"
    get_es().indices.refresh(index=fallback_index)
    fallback = get_es().search(index=fallback_index, query={"term": {"stream_id": result["stream_id"]}})["hits"]["hits"]
    assert len(fallback) == 1 and '"sent":10' in fallback[0]["_source"]["raw"]
    assert fallback[0]["_source"]["line"] == 2


def test_the_same_lines_sent_twice_are_indexed_once_and_counted_once(celery_worker, api_client):
    first = ingest(api_client, whole_lines(5000), stream="retried").json()
    wait_until(lambda: settled(api_client, first["stream_id"]))

    second = ingest(api_client, whole_lines(5000), stream="retried").json()

    lines = whole_lines(5000).count(b"\n")
    assert second == first
    assert count_stream(first["stream_id"]) == lines
    counts = wait_until(lambda: settled(api_client, first["stream_id"]))
    assert counts["received"] == counts["indexed"] == lines


def test_identical_lines_in_one_request_are_separate_events(celery_worker, api_client):
    line = ACCESS.splitlines(keepends=True)[0]

    result = ingest(api_client, line * 3, stream="repeats").json()

    wait_until(lambda: count_stream(result["stream_id"]) == 3)


def test_a_body_over_10_mb_is_refused_with_413(api_client):
    response = ingest(api_client, b"x" * (10 * 2**20 + 1))

    assert response.status_code == 413
    assert response.json() == {"success": False, "error": "The request body exceeds 10 MB; send smaller batches"}


def test_a_gzip_body_that_inflates_past_10_mb_is_refused_with_413(api_client):
    bomb = gzip.compress(ACCESS * 300)

    response = api_client.post(
        "/api/ingest", data=bomb, content_type="application/x-ndjson", HTTP_CONTENT_ENCODING="gzip"
    )

    assert len(bomb) < 10 * 2**20
    assert response.status_code == 413
    assert response.json()["error"] == "The request body exceeds 10 MB"


def test_an_empty_body_is_a_400(api_client):
    response = ingest(api_client, b"\n\n")

    assert response.status_code == 400
    assert response.json()["error"] == "The request body has no events: send one JSON object per line"


@pytest.mark.parametrize("header", [None, "Token not-a-key", "Basic " + base64.b64encode(b"shipper:wrong").decode()])
def test_without_a_valid_key_the_answer_is_the_apis_401(header):
    client = key_client(header) if header else APIClient()

    response = ingest(client, whole_lines(1000))

    assert response.status_code == 401
    assert response.json()["success"] is False
    assert "Basic" in response["WWW-Authenticate"]


def test_the_key_is_taken_as_a_token_an_api_key_or_a_basic_password(celery_worker, user):
    key = Token.objects.create(user=user).key
    headers = [
        f"Token {key}",
        f"ApiKey {key}",
        "ApiKey " + base64.b64encode(f"shipper-1:{key}".encode()).decode(),
        "Basic " + base64.b64encode(f"any-name:{key}".encode()).decode(),
    ]

    statuses = [ingest(key_client(header), whole_lines(2000), stream="keys").status_code for header in headers]

    assert statuses == [202, 202, 202, 202]


@pytest.fixture
def ingest_only_key(user, capsys) -> str:
    call_command("create_api_token", user.username, "--ingest-only")
    return capsys.readouterr().out.strip()


def test_an_ingest_only_token_sends_events(celery_worker, ingest_only_key):
    response = ingest(key_client(f"Token {ingest_only_key}"), whole_lines(2000), stream="shipper")

    assert response.status_code == 202
    wait_until(lambda: count_stream(response.json()["stream_id"]) == whole_lines(2000).count(b"\n"))


@pytest.mark.parametrize("path", ["/api/search", "/api/logs/uploads", "/api/logs/streams", "/api/dashboard"])
def test_an_ingest_only_token_cannot_read_the_api(ingest_only_key, path):
    response = key_client(f"Token {ingest_only_key}").get(path)

    assert response.status_code == 401
    assert response.json()["error"].startswith("This token is ingest-only")


@pytest.mark.parametrize("path", ["/jobs/", "/search/", "/dashboard/"])
def test_an_ingest_only_token_cannot_open_pages(client, ingest_only_key, path):
    response = client.get(path, HTTP_AUTHORIZATION=f"Token {ingest_only_key}")

    assert response.status_code == 401
    assert b"ingest-only" in response.content


def test_the_user_api_token_still_reads(api_client):
    assert api_client.get("/api/logs/streams").status_code == 200


def test_past_the_queue_bound_the_answer_is_429_with_retry_after_and_nothing_is_lost(
    celery_worker, api_client, settings
):
    settings.STREAM_MAX_QUEUED_BATCHES_PER_OWNER = 3
    parts = [whole_lines(3000, start) for start in (0, 4000, 8000, 12000, 16000)]
    accepted = {}
    with worker_paused():
        answers = [ingest(api_client, part, stream="pressure") for part in parts]
        refused = [answer for answer in answers if answer.status_code == 429]
        assert [answer.status_code for answer in answers[:3]] == [202, 202, 202]
        assert len(refused) == 2
        assert refused[0]["Retry-After"] == str(settings.STREAM_RETRY_AFTER_SECONDS)
        assert "waiting to be indexed" in refused[0].json()["error"]
        accepted = {answer.json()["stream_id"] for answer in answers[:3]}
        lines = sum(answer.json()["accepted"] for answer in answers[:3])
    (stream_id,) = accepted
    wait_until(lambda: count_stream(stream_id) >= lines)
    counts = wait_until(lambda: settled(api_client, stream_id))
    assert counts["received"] == counts["indexed"] == lines
    # Resent once the queue drains: everything arrives, nothing twice.
    for part in parts[3:]:
        assert ingest(api_client, part, stream="pressure").status_code == 202
    total = sum(part.count(b"\n") for part in parts)
    wait_until(lambda: count_stream(stream_id) == total)
    assert celery_app.control.ping(timeout=1)
