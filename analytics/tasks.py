"""Celery tasks of the analytics app: fraud screening after each finished job, on a schedule, on demand."""

import datetime as dt

from celery import shared_task

from analytics.fraud import services
from config.errors import ServiceUnavailable
from ingestion.services import events

CONSUMER = "fraud"
# The sweep looks this far back for finished jobs nobody screened (a lost notification, a worker restart).
SWEEP_WINDOW = dt.timedelta(days=2)


@shared_task(
    name="analytics.fraud_scan_finished_job",
    autoretry_for=(ServiceUnavailable, ConnectionError),
    max_retries=2,
    default_retry_delay=5,
    acks_late=True,
)
def fraud_scan_finished_job(event_id: str) -> dict | None:
    """Screen the events of a job that just finished; one run per job_events row (claimed)."""
    event = events.job_event_get(event_id=event_id)
    if event is None or not events.job_event_claim(event_id=event_id, consumer=CONSUMER):
        return None
    try:
        report = services.fraud_scan(owner_id=event["owner_id"], job_id=event["job_id"])
    except Exception:
        events.job_event_release(event_id=event_id, consumer=CONSUMER)
        raise
    return {"events": report.events, "created": report.alerts_created, "updated": report.alerts_updated}


@shared_task(name="analytics.fraud_sweep")
def fraud_sweep() -> int:
    """Screen finished jobs that were not screened yet."""
    since = dt.datetime.now(dt.UTC) - SWEEP_WINDOW
    pending = events.job_events_unclaimed(consumer=CONSUMER, since=since)
    for event in pending:
        fraud_scan_finished_job.delay(event["_id"])
    return len(pending)


@shared_task(name="analytics.fraud_scan", acks_late=True)
def fraud_scan(owner_id: int, job_id: str | None = None) -> dict:
    """On demand (API or admin): screen one job, or all of an owner's events."""
    report = services.fraud_scan(owner_id=owner_id, job_id=job_id)
    return {"events": report.events, "created": report.alerts_created, "updated": report.alerts_updated}
