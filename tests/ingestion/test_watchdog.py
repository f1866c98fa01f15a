"""The watchdog (Celery beat) rescues uploads the broker never saw and ends jobs that stopped moving."""

import datetime as dt
import uuid

import pytest

from ingestion import repository, tasks
from tests.helpers import count_documents, data_lines, upload, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


def test_an_upload_left_pending_by_a_broker_outage_is_dispatched_again(celery_worker, api_client, monkeypatch):
    # The broker "was down" when the upload arrived: the dispatch reported failure and nothing was queued.
    monkeypatch.setattr("ingestion.services.jobs.dispatch_job", lambda job_id, attempt: False)
    data = upload(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 30)).json()["data"]
    monkeypatch.undo()  # the broker is back
    repository.job_update(data["job_id"], {"dispatched_at": LONG_AGO})

    summary = tasks.watchdog()
    job = wait_for_job(api_client, data["job_id"])

    assert summary["redispatched"] >= 1
    assert job["status"] == "completed"
    assert count_documents(data["file_id"]) == 30


def test_a_job_that_stopped_moving_after_a_resume_is_failed_with_a_reason(celery_worker, api_client):
    data = upload(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 5)).json()["data"]
    wait_for_job(api_client, data["job_id"])
    # As if a worker died mid-job twice: processing, already resumed once, no progress for an hour.
    repository.job_update(
        data["job_id"], {"status": "processing", "resumed": True, "started_at": LONG_AGO, "attempt": 7}
    )

    tasks.watchdog()
    job = api_client.get(f"/api/logs/jobs/{data['job_id']}").json()

    assert job["status"] == "failed"
    assert job["reason"] == "No progress; gave up"


def test_a_job_whose_stage_still_beats_is_not_taken_for_stuck(celery_worker, api_client):
    data = upload(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 5)).json()["data"]
    wait_for_job(api_client, data["job_id"])
    # As if its validate stage had been inflating a large file for an hour, its heartbeat fresh.
    repository.job_update(data["job_id"], {"status": "processing", "started_at": LONG_AGO, "attempt": 7})
    repository.task_start(task_id=str(uuid.uuid4()), job_id=data["job_id"], tries=0, at=dt.datetime.now(dt.UTC))

    tasks.watchdog()
    job = repository.job_get(data["job_id"])
    repository.job_update(data["job_id"], {"status": "completed"})  # no later sweep of the run may find it
    repository.task_starts_delete(data["job_id"])

    assert job.status == "processing"
    assert job.resumed is False
