"""POST /api/logs/upload: the seed's contract, refusals, and what lands in Elasticsearch."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from tests.helpers import (
    count_documents,
    data_lines,
    documents_of,
    gzipped,
    upload,
    upload_and_wait,
    wait_for_job,
)

pytestmark = pytest.mark.django_db(transaction=True)


def stored_files() -> set[str]:
    root = Path(default_storage.location)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def test_a_12_line_json_file_is_accepted_with_a_10_record_preview(celery_worker, api_client):
    response = upload(api_client, "web_logs.json", data_lines("web_access_logs.ndjson", 12))

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "File uploaded successfully"
    data = body["data"]
    assert data["filename"] == "web_logs.json"
    assert data["file_type"] == "json"
    assert data["total_lines"] == 12
    assert data["preview_lines"] == 10
    assert len(data["preview"]) == 10
    assert data["preview"][0]["clientip"] == "223.87.60.27"
    assert data["status"] == "pending"
    assert data["status_url"] == f"/api/logs/jobs/{data['job_id']}"
    assert set(data) >= {"file_id", "job_id", "file_size", "uploaded_at"}


def test_a_12_line_json_file_ends_up_as_12_searchable_documents(celery_worker, api_client):
    data, job = upload_and_wait(api_client, "web_logs.json", data_lines("web_access_logs.ndjson", 12))

    assert job["status"] == "completed"
    assert job["counts"] == {"total_lines": 12, "indexed": 12, "dead_lettered": 0, "fallback": 0, "skipped_blank": 0}
    assert count_documents(data["file_id"]) == 12
    first = documents_of(data["file_id"])[0]
    assert first["@timestamp"] == "2018-07-22T00:39:02.912Z"
    assert first["_index"].endswith("-2018.07.22")
    assert first["line"] == 1
    assert first["log_type"] == "access"


def test_a_12_line_csv_file_is_accepted_and_indexed(celery_worker, api_client):
    data, job = upload_and_wait(api_client, "fraud.csv", data_lines("fraud_transactions_2k.csv", 13))

    assert data["total_lines"] == 12
    assert data["file_type"] == "csv"
    assert data["preview"][0]["EVENT_ID"]
    assert job["status"] == "completed"
    assert job["timestamp_field"] == "EVENT_TIMESTAMP"
    assert count_documents(data["file_id"]) == 12


def test_a_txt_file_is_refused_by_extension(api_client):
    response = upload(api_client, "notes.txt", b"hello\n")

    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "File extension '.txt' not allowed"}


def test_an_empty_file_is_refused(api_client):
    response = upload(api_client, "empty.json", b"")

    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "File is empty"}


def test_a_request_without_a_file_is_refused(api_client):
    response = api_client.post("/api/logs/upload", {}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "No file provided"}


@override_settings(LOGS_MAX_UPLOAD_MB=1)
def test_an_oversize_file_is_refused_and_nothing_of_it_is_kept(api_client):
    before = stored_files()
    content = data_lines("web_access_logs.ndjson", 2000)  # about 2 MB

    response = upload(api_client, "big.ndjson", content)

    assert response.status_code == 413
    assert response.json() == {"success": False, "error": "File size exceeds 1 MB limit"}
    assert stored_files() == before


def test_a_binary_file_named_csv_is_refused(api_client):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4

    response = upload(api_client, "picture.csv", png)

    assert response.status_code == 400
    assert "binary" in response.json()["error"]


def test_a_file_without_any_timestamp_is_refused(api_client):
    response = upload(api_client, "no_time.ndjson", b'{"user": "ana", "amount": 12.5}\n')

    assert response.status_code == 400
    assert response.json()["error"].startswith("No timestamp field found")


def test_garbage_json_is_refused_with_its_line_number(api_client):
    response = upload(api_client, "broken.ndjson", b"\n{not json at all\n{still not\n")

    assert response.status_code == 400
    assert response.json()["error"].startswith("Line 2:")


def test_a_gzipped_ndjson_file_is_decompressed_and_indexed(celery_worker, api_client):
    data, job = upload_and_wait(api_client, "orders.ndjson.gz", gzipped(data_lines("ecommerce_orders.ndjson", 25)))

    assert data["file_type"] == "ndjson.gz"
    assert data["total_lines"] == 25
    assert job["status"] == "completed"
    assert count_documents(data["file_id"]) == 25


@override_settings(LOGS_MAX_UPLOAD_MB=1, LOGS_MAX_DECOMPRESSED_MB=1)
def test_a_gzip_bomb_is_refused(api_client):
    bomb = gzipped(b"{}\n" * (2 * 2**20))

    response = upload(api_client, "bomb.ndjson.gz", bomb)

    assert response.status_code == 400
    assert response.json()["error"] == "Decompressed size exceeds 1 MB limit"


def test_two_files_in_one_request_are_refused_and_neither_is_kept(api_client):
    before = stored_files()
    lines = data_lines("web_access_logs.ndjson", 12)
    files = [SimpleUploadedFile("first.ndjson", lines), SimpleUploadedFile("second.ndjson", lines)]

    response = api_client.post("/api/logs/upload", {"file": files}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "Send one file per upload request"}
    assert stored_files() == before


@pytest.fixture
def browser_session(user) -> tuple[Client, str]:
    """A signed-in browser that checks CSRF as a real one does, and the token the upload page gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/uploads/")
    return client, client.cookies["csrftoken"].value


def test_a_signed_in_browser_uploads_with_the_csrf_token_in_its_header(celery_worker, browser_session):
    client, token = browser_session

    response = client.post(
        "/api/logs/upload",
        {"file": SimpleUploadedFile("web_logs.ndjson", data_lines("web_access_logs.ndjson", 12))},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 201
    assert wait_for_job(client, response.json()["data"]["job_id"])["counts"]["indexed"] == 12


def test_a_csrf_token_in_the_form_is_not_read_and_the_answer_says_where_it_goes(browser_session):
    client, token = browser_session
    before = stored_files()

    response = client.post(
        "/api/logs/upload",
        {
            "csrfmiddlewaretoken": token,
            "file": SimpleUploadedFile("web_logs.ndjson.gz", gzipped(data_lines("web_access_logs.ndjson", 12))),
        },
    )

    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": "CSRF Failed: CSRF token missing. "
        "Send the CSRF token in the X-CSRFToken header: uploads never read it from the form.",
    }
    assert stored_files() == before


def test_uploads_need_credentials(client):
    response = client.post("/api/logs/upload", {})

    assert response.status_code in (401, 403)
    assert response.json()["success"] is False


@override_settings(MONGODB_URI="mongodb://127.0.0.1:1/logs_platform_test")
def test_an_upload_while_mongodb_is_down_answers_503_and_leaves_no_file(api_client):
    before = stored_files()

    response = upload(api_client, "web_logs.json", data_lines("web_access_logs.ndjson", 12))

    assert response.status_code == 503
    assert response.json()["success"] is False
    assert stored_files() == before


def test_stored_uploads_are_readable_by_the_owner_only(celery_worker, api_client):
    data, _job = upload_and_wait(api_client, "private.ndjson", data_lines("web_access_logs.ndjson", 5))

    stored = [path for path in Path(default_storage.location).glob(f"*{data['file_id']}*") if path.is_file()]
    assert len(stored) == 1
    assert stored[0].stat().st_mode & 0o777 == 0o600
