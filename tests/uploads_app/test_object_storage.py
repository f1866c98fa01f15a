"""Uploads and work files in a real MinIO bucket (STORAGE=s3): written in parts, read by ranges, nothing left behind.

This process (the web side) and the run's worker are switched to the bucket for the module; one real file is
uploaded once and shared by the tests.
"""

import base64
import datetime as dt
import gzip
import os
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import override_settings

from config.storages import s3_storage
from ingestion import files
from ingestion import repository as repo
from ingestion.objects import PART_BYTES
from ingestion.services.jobs import files_sweep
from tests.analytics.conftest import client_for
from tests.conftest import fresh_user_id
from tests.datafiles import ECOMMERCE_ORDERS, RECORD_COUNTS
from tests.helpers import count_documents, upload, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = os.environ["S3_BUCKET"]
LOCAL_UPLOADS = Path(settings.STORAGES["default"]["OPTIONS"]["location"])


@pytest.fixture(scope="module")
def bucket(minio, celery_worker):
    """The run's MinIO client, with this process and the worker on the bucket; 1 MB chunks, so many ranges."""
    storage = s3_storage(
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        bucket=BUCKET,
        access_key=os.environ["S3_ACCESS_KEY"],
        secret_key=os.environ["S3_SECRET_KEY"],
    )
    with override_settings(STORAGE="s3", STORAGES={**settings.STORAGES, "default": storage}):
        celery_worker.stop()
        celery_worker.start(env={"STORAGE": "s3", "LOGS_CHUNK_MB": "1"})
        try:
            yield minio
        finally:
            celery_worker.stop()
            celery_worker.start()


@pytest.fixture(scope="module")
def orders(bucket, django_db_blocker):
    """The real orders file (7.4 MB, 4,675 lines) uploaded once through the API and processed by the worker."""
    with django_db_blocker.unblock():
        client = client_for(fresh_user_id(), "bucket-user")
        response = upload(client, ECOMMERCE_ORDERS.name, ECOMMERCE_ORDERS.read_bytes())
        assert response.status_code == 201, response.json()
        data = response.json()["data"]
        stored = repo.job_get(data["job_id"]).stored_name
        # Asked as soon as the upload is answered, while the worker takes the job.
        size_at_answer = bucket.head_object(Bucket=BUCKET, Key=stored)["ContentLength"]
        job = wait_for_job(client, data["job_id"])
        plan = repo.job_get(data["job_id"]).plan
    return SimpleNamespace(client=client, data=data, job=job, stored=stored, size_at_answer=size_at_answer, plan=plan)


def keys(client, prefix: str = "") -> set[str]:
    answer = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"] for item in answer.get("Contents", [])}


def incomplete_uploads(client) -> list[str]:
    return [item["Key"] for item in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]


def test_an_upload_to_the_bucket_indexes_every_line_of_the_file(orders):
    assert orders.job["status"] == "completed"
    assert orders.job["counts"]["indexed"] == RECORD_COUNTS[ECOMMERCE_ORDERS]
    assert count_documents(orders.data["file_id"]) == RECORD_COUNTS[ECOMMERCE_ORDERS]


def test_the_file_is_one_object_in_the_bucket_and_none_on_the_web_hosts_disk(orders, bucket):
    assert orders.size_at_answer == ECOMMERCE_ORDERS.stat().st_size
    assert orders.stored in keys(bucket)
    assert not list(LOCAL_UPLOADS.rglob(f"*{orders.data['file_id']}*"))
    assert incomplete_uploads(bucket) == []


def test_the_worker_cut_the_file_into_chunks_and_left_no_work_files(orders, bucket):
    assert len(orders.plan) >= 5
    assert keys(bucket, f"work/{orders.data['job_id']}/") == set()


def test_a_chunk_is_read_with_one_ranged_get_of_exactly_its_bytes(orders, bucket):
    ranges = []
    client = default_storage.connection.meta.client
    record = lambda request, **_: ranges.append(request.headers["Range"])  # noqa: E731
    client.meta.events.register("before-send.s3.GetObject", record)
    chunk = orders.plan[2]
    try:
        data = files.read_stored_range(orders.stored, chunk.start, chunk.end)
    finally:
        client.meta.events.unregister("before-send.s3.GetObject", record)
    assert data == ECOMMERCE_ORDERS.read_bytes()[chunk.start : chunk.end]
    assert ranges == [f"bytes={chunk.start}-{chunk.end - 1}".encode()]


def test_a_gzip_broken_after_a_part_was_sent_leaves_no_object_and_no_incomplete_upload(bucket, api_client):
    noise = base64.b64encode(random.Random(18).randbytes(PART_BYTES + 2**20))
    content = gzip.compress(noise, compresslevel=1) + b"this is not gzip"
    assert len(content) > PART_BYTES  # a part is in the bucket when the break is found
    before = keys(bucket)
    response = upload(api_client, "orders.ndjson.gz", content)
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "The file is not valid gzip"}
    assert keys(bucket) == before
    assert incomplete_uploads(bucket) == []


def test_a_file_refused_once_it_arrived_is_deleted_from_the_bucket(bucket, api_client):
    before = keys(bucket)
    response = upload(api_client, "notes.ndjson", b'{"note": "no time here"}\n' * 50)
    assert response.status_code == 400
    assert response.json()["error"].startswith("No timestamp field found")
    assert keys(bucket) == before
    assert incomplete_uploads(bucket) == []


def test_the_sweeper_aborts_a_stale_incomplete_upload_and_keeps_a_fresh_one(bucket):
    key = "sweeper-test/abandoned.ndjson"
    upload_id = bucket.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    bucket.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=1, Body=b'{"a": 1}\n')
    now = dt.datetime.now(dt.UTC)
    files_sweep(at=now)
    assert incomplete_uploads(bucket) == [key]  # begun a moment ago: an upload may still be under way
    assert files_sweep(at=now + dt.timedelta(days=2)) >= 1
    assert incomplete_uploads(bucket) == []
    assert key not in keys(bucket)


def test_deleting_the_upload_removes_its_object(orders, bucket):
    response = orders.client.delete(f"/api/logs/uploads/{orders.data['file_id']}")
    assert response.status_code in (200, 204), response.content
    with pytest.raises(ClientError) as missing:
        bucket.head_object(Bucket=BUCKET, Key=orders.stored)
    assert missing.value.response["Error"]["Code"] == "404"
    assert count_documents(orders.data["file_id"]) == 0
