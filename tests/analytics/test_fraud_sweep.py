"""The fraud sweep (beat, every 5 minutes) screens every finished job nobody screened yet, however many were."""

import datetime as dt

import pytest
from django_celery_results.models import TaskResult

from analytics.tasks import CONSUMER, fraud_sweep
from config.mongo import get_database
from ingestion import repository
from ingestion.enums import JobStatus
from tests.conftest import wait_until
from tests.helpers import a_job

pytestmark = pytest.mark.django_db(transaction=True)

SCAN_TASK = "analytics.fraud_scan_finished_job"


def finished_jobs(count: int) -> list[str]:
    """`count` "job finished" events a day or two old, oldest first (the sweep looks 2 days back)."""
    oldest = dt.datetime.now(dt.UTC) - dt.timedelta(hours=47)
    return [
        repository.event_record(job=a_job(), status=JobStatus.COMPLETED, at=oldest + dt.timedelta(minutes=2 * n))
        for n in range(count)
    ]


def screened(event_ids: set[str]) -> set[str]:
    """Which of these events a scan task ran for (the worker's task results)."""
    args = TaskResult.objects.filter(task_name=SCAN_TASK).values_list("task_args", flat=True)
    return {event_id for event_id in event_ids if any(event_id in text for text in args)}


def test_the_sweep_screens_every_unclaimed_job_even_behind_hundreds_of_screened_ones(read_side):
    events = finished_jobs(600)
    unclaimed = {event_id for n, event_id in enumerate(events) if n % 12 == 11}
    claimed = [event_id for event_id in events if event_id not in unclaimed]
    for event_id in claimed:
        assert repository.event_claim(event_id, CONSUMER)
    # FerretDB 1.x may lose the mark on the event when two consumers claim it at once: the claim still holds.
    lost = claimed[-5:]
    get_database()["job_events"].update_many({"_id": {"$in": lost}}, {"$pull": {"claimed_by": CONSUMER}})

    sent = fraud_sweep()
    wait_until(lambda: screened(unclaimed) == unclaimed, attempts=1200)
    wait_until(lambda: not repository.event_claimed(sorted(unclaimed), CONSUMER) ^ unclaimed, attempts=600)

    assert len(unclaimed) == 50
    assert events[-1] in unclaimed  # the newest
    assert sent >= 50
    assert screened(set(claimed)) == set()
    marks = get_database()["job_events"].find({"_id": {"$in": lost}}, {"claimed_by": 1})
    assert all(CONSUMER in event["claimed_by"] for event in marks)
