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


def test_a_finished_job_has_one_busy_holder_until_it_lets_go_or_stops_showing_life():
    job_id = uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC)
    an_hour_ago, in_a_minute = now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1)

    assert repository.busy_claim(job_id, "reindex:a", stale_before=an_hour_ago)
    assert repository.busy_claim(job_id, "reindex:a", stale_before=an_hour_ago)  # its redelivery
    assert not repository.busy_claim(job_id, "retry:2", stale_before=an_hour_ago)
    assert repository.busy_renew(job_id, "reindex:a")

    # A holder that showed no life since `stale_before` (its task was lost) is taken over, by one taker only.
    assert repository.busy_claim(job_id, "retry:2", stale_before=in_a_minute)
    assert not repository.busy_claim(job_id, "delete", stale_before=an_hour_ago)
    assert not repository.busy_renew(job_id, "reindex:a")
    repository.busy_release(job_id, "reindex:a")  # not its claim any more: nothing happens
    assert not repository.busy_claim(job_id, "delete", stale_before=an_hour_ago)
    repository.busy_release(job_id, "retry:2")
    assert repository.busy_claim(job_id, "delete", stale_before=an_hour_ago)


def test_a_reindex_records_its_own_event_beside_the_finished_one():
    job = a_job()
    at = dt.datetime.now(dt.UTC)

    finished = repository.event_record(job=job, status=JobStatus.COMPLETED_WITH_ERRORS, at=at)
    reindexed = repository.event_record(job=job, status=JobStatus.COMPLETED, at=at, occasion="reindex-1")

    assert (finished, reindexed) == (f"{job.job_id}:1:finished", f"{job.job_id}:1:reindex-1")
    assert repository.event_get(reindexed)["status"] == "completed"


def test_an_unreachable_server_is_one_service_unavailable_error(settings):
    settings.MONGODB_URI = "mongodb://127.0.0.1:1/logs_platform_test"

    with pytest.raises(ServiceUnavailable, match="The job database is unavailable"):
        repository.job_get("any")
    with pytest.raises(ServiceUnavailable):
        repository.claim("any", "run", "run:any:1")
