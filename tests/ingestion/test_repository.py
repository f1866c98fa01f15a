"""The job repository on the real MongoDB-protocol server: typed jobs, guarded transitions, the outbox."""

import datetime as dt
import uuid

import pytest

from config.errors import ServiceUnavailable
from ingestion import repository
from ingestion.chunking import Chunk
from ingestion.enums import JobStage, JobStatus
from tests.helpers import a_job


def test_a_job_comes_back_exactly_as_it_was_stored():
    job = a_job(plan=[Chunk(0, 0, 616_517, 1)], stage=JobStage.PARSE, stages={"validate_ms": 12})

    repository.job_insert(job)

    assert repository.job_get(job.job_id) == job
    assert repository.job_get_by_file(job.file_id) == job


def test_an_update_of_a_field_the_job_does_not_have_fails_loudly():
    job = a_job()
    repository.job_insert(job)

    with pytest.raises(KeyError, match="statuss"):
        repository.job_update(job.job_id, {"statuss": "completed"})


def test_a_legal_transition_is_applied_and_an_illegal_one_refused():
    job = a_job()
    repository.job_insert(job)

    assert repository.job_transition(job.job_id, to=JobStatus.PROCESSING, changes={"stage": JobStage.VALIDATE})
    assert repository.job_transition(job.job_id, to=JobStatus.PROCESSING) is False  # already there
    assert repository.job_transition(job.job_id, to=JobStatus.COMPLETED)
    with pytest.raises(repository.IllegalTransition, match="completed -> processing"):
        repository.job_transition(job.job_id, to=JobStatus.PROCESSING)
    stored = repository.job_get(job.job_id)
    assert stored.status == JobStatus.COMPLETED
    assert stored.stage == JobStage.VALIDATE


def test_a_finished_attempt_records_one_event_however_often_it_is_told():
    job = a_job()
    at = dt.datetime.now(dt.UTC)

    repository.event_record(job=job, status=JobStatus.COMPLETED, at=at)
    repository.event_record(job=job, status=JobStatus.COMPLETED, at=at)

    events = [event for event in repository.events_since(at) if event["job_id"] == job.job_id]
    assert len(events) == 1
    assert events[0]["status"] == "completed"
    assert events[0]["owner_id"] == 7


def test_each_consumer_claims_an_event_once():
    event_id = f"{uuid.uuid4().hex}:1:finished"

    assert repository.event_claim(event_id, "fraud") is True
    assert repository.event_claim(event_id, "fraud") is False
    assert repository.event_claim(event_id, "webhooks") is True


def test_an_unreachable_server_is_one_service_unavailable_error(settings):
    settings.MONGODB_URI = "mongodb://127.0.0.1:1/logs_platform_test"

    with pytest.raises(ServiceUnavailable, match="The job database is unavailable"):
        repository.job_get("any")
    with pytest.raises(ServiceUnavailable):
        repository.claim("any", "run", "run:any:1")
