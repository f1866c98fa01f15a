"""What notifies, end to end: real files uploaded through the API, the real worker, a real receiver.

A finished job sends job.completed (or completed_with_errors, failed) with its counts and page; the labelled
fraud file's high-tier alerts send fraud.alert, and an alert whose tier changes is announced again.
"""

import datetime as dt

import pytest
from django_celery_results.models import TaskResult

from analytics.fraud.models import FraudAlert
from ingestion import repository
from ingestion import tasks as ingestion_tasks
from ingestion.enums import JobStatus
from notifications import tasks
from notifications.models import Delivery
from notifications.services import sources
from tests.conftest import wait_until
from tests.datafiles import FRAUD_TRANSACTIONS
from tests.helpers import a_job, data_lines, upload_and_wait
from tests.notifications.conftest import JOB_EVENTS, webhook_channel

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_finished_upload_sends_a_signed_job_event_with_counts_and_its_page(celery_worker, api_client, receiver):
    webhook_channel(api_client, receiver, events=JOB_EVENTS)

    data, job = upload_and_wait(api_client, FRAUD_TRANSACTIONS.name, FRAUD_TRANSACTIONS.read_bytes())
    [request] = receiver.wait_for(1)
    event = request.json

    assert request.verified_by == [0]
    assert event["type"] == f"job.{job['status']}"
    assert event["data"]["job_id"] == data["job_id"]
    assert event["data"]["file_id"] == data["file_id"]
    assert event["data"]["filename"] == "fraud_transactions_2k.csv"
    assert event["data"]["status"] == job["status"]
    assert event["data"]["counts"] == job["counts"]
    assert event["data"]["counts"]["total_lines"] == job["counts"]["total_lines"] == 1611
    assert event["data"]["url"] == f"http://testserver/jobs/{data['job_id']}/"


def test_a_job_that_fails_sends_job_failed_with_the_reason(celery_worker, api_client, receiver):
    webhook_channel(api_client, receiver, events=["job.failed"])
    data, job = upload_and_wait(api_client, "web.ndjson", data_lines("web_access_logs.ndjson", 5))
    # As if a retry (attempt 2) had stopped moving twice: the watchdog gives up on it.
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    repository.job_update(
        data["job_id"], {"status": "processing", "resumed": True, "started_at": an_hour_ago, "attempt": 2}
    )

    ingestion_tasks.watchdog()
    [request] = receiver.wait_for(1)

    assert job["status"] == "completed"  # not announced: this channel hears failures only
    assert request.json["type"] == "job.failed"
    assert request.json["data"]["job_id"] == data["job_id"]
    assert request.json["data"]["reason"] == "No progress; gave up"
    assert request.verified_by == [0]


def test_a_finished_job_whose_notification_was_lost_is_found_by_the_sweep(api_client, user, receiver):
    webhook_channel(api_client, receiver, events=JOB_EVENTS)
    job = a_job(owner_id=user.pk, status=JobStatus.COMPLETED, finished_at=dt.datetime.now(dt.UTC))
    repository.job_insert(job)
    # Finished ten minutes ago, and nobody was told (the broker was down).
    event_id = repository.event_record(
        job=job, status=job.status, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    )

    missed = sources.job_events_missed()
    first = sources.job_event_notify(event_id=event_id)
    again = sources.job_event_notify(event_id=event_id)

    assert event_id in missed
    assert first == 1
    assert again == 0
    assert event_id not in sources.job_events_missed()
    assert Delivery.objects.filter(channel__owner=user, event_type="job.completed").count() == 1


def screened_fraud_file(client) -> dict:
    data, _job = upload_and_wait(client, FRAUD_TRANSACTIONS.name, FRAUD_TRANSACTIONS.read_bytes())
    wait_until(
        lambda: TaskResult.objects.filter(
            task_name="analytics.fraud_scan_finished_job", task_args__contains=data["job_id"], status="SUCCESS"
        ).exists()
    )
    return data


def test_high_tier_fraud_alerts_are_announced_once_and_a_tier_change_again(celery_worker, api_client, user, receiver):
    webhook_channel(api_client, receiver, events=["fraud.alert"], min_tier="high")
    screened_fraud_file(api_client)
    high = {alert.pk: alert for alert in FraudAlert.objects.filter(owner_id=user.pk, tier="high")}
    review = FraudAlert.objects.filter(owner_id=user.pk, tier="review").first()

    tasks.fraud_alerts.delay().get(timeout=120)
    announced = list(receiver.wait_for(len(high)))
    tasks.fraud_alerts.delay().get(timeout=120)  # nothing new: nothing more is sent
    review.tier, review.score = "high", 6  # as a rescan with more evidence would
    review.save()
    tasks.fraud_alerts.delay().get(timeout=120)
    retiered = receiver.wait_for(len(high) + 1)[-1]

    assert high and review is not None
    assert len(announced) == len(high)
    assert {request.json["data"]["alert_id"] for request in announced} == set(high)
    first = next(request.json for request in announced if request.json["data"]["alert_id"] == min(high))
    alert = high[min(high)]
    assert first["type"] == "fraud.alert"
    assert first["data"]["tier"] == "high"
    assert first["data"]["score"] == alert.score
    assert first["data"]["rules"] == alert.rules
    assert first["data"]["entity"] == alert.entity
    assert first["data"]["previous_tier"] is None
    assert first["data"]["url"] == f"http://testserver/fraud/alerts/{alert.pk}/"
    assert all(request.verified_by == [0] for request in receiver.received)
    assert retiered.json["data"]["alert_id"] == review.pk
    assert retiered.json["data"]["previous_tier"] == "review"
    assert retiered.json["data"]["tier"] == "high"
    assert len(receiver.received) == len(high) + 1
