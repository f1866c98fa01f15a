"""POST /api/logs/upload with a file uploaded before: index it again (the default) or skip it (on_duplicate)."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from tests.helpers import data_lines, upload, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)
ORDERS = data_lines("ecommerce_orders.ndjson", 12)


def stored_files() -> set[str]:
    root = Path(default_storage.location)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def job_count(client) -> int:
    return client.get("/api/logs/uploads").json()["count"]


def test_a_file_uploaded_again_is_indexed_again_by_default_naming_the_earlier_job(celery_worker, api_client):
    first, _job = upload_and_wait(api_client, "orders.ndjson", ORDERS)

    response = upload(api_client, "orders-again.ndjson", ORDERS)

    assert response.status_code == 201
    again = response.json()["data"]
    assert again["duplicate_of"] == first["job_id"]
    assert again["job_id"] != first["job_id"]
    assert first["duplicate_of"] is None


def test_a_file_uploaded_again_with_skip_stores_nothing_and_answers_the_earlier_job(celery_worker, api_client):
    first, _job = upload_and_wait(api_client, "orders.ndjson", ORDERS)
    files_before, jobs_before = stored_files(), job_count(api_client)

    response = upload(api_client, "orders (1).ndjson", ORDERS, on_duplicate="skip")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"] == f"You uploaded this file before (job {first['job_id']}); nothing was stored"
    assert body["data"]["job_id"] == body["data"]["duplicate_of"] == first["job_id"]
    assert body["data"]["filename"] == "orders.ndjson"
    assert body["data"]["status"] == "completed"
    assert body["data"]["preview"] == first["preview"]
    assert job_count(api_client) == jobs_before
    assert stored_files() == files_before


def test_skip_uploads_a_new_file_as_usual(celery_worker, api_client):
    response = upload(api_client, "orders-13.ndjson", data_lines("ecommerce_orders.ndjson", 13), on_duplicate="skip")

    assert response.status_code == 201
    assert response.json()["data"]["duplicate_of"] is None


def test_another_users_copy_of_the_file_is_not_a_duplicate(celery_worker, api_client, other_client):
    upload_and_wait(api_client, "orders.ndjson", ORDERS)

    response = upload(other_client, "orders.ndjson", ORDERS, on_duplicate="skip")

    assert response.status_code == 201
    assert response.json()["data"]["duplicate_of"] is None


def test_an_unknown_choice_is_refused(api_client):
    response = upload(api_client, "orders.ndjson", ORDERS, on_duplicate="ask")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert "on_duplicate" in response.json()["error"]
