"""Celery tasks of the analytics app: fraud screening after each finished job and each closed stream window, on a
schedule, on demand; the analytics page made ready in the cache after each finished job."""

import datetime as dt

from celery import shared_task
from django.contrib.auth import get_user_model

from analytics.dashboard import dashboard_warm
from analytics.filters import EventFilters
from analytics.fraud import services
from analytics.fraud.scan import StreamWindow
from analytics.selectors import page_panels, panels_get, staff_is_looking
from config.errors import ServiceUnavailable
from config.es import CLIENT_UNREACHABLE
from ingestion.contract import (
    STREAM_WINDOW_CLOSED,
    job_event_claim,
    job_event_get,
    job_event_handled,
    job_events_unclaimed,
)

CONSUMER = "fraud"
# The sweep looks this far back for finished jobs nobody screened (a lost notification, a worker restart).
SWEEP_WINDOW = dt.timedelta(days=2)
SWEEP_GRACE = dt.timedelta(minutes=5)


# A scan can take longer than the broker's visibility timeout: acknowledged on receipt, so it is never
# handed out twice while running. If its worker dies, the sweep finds the job_events row unclaimed.
@shared_task(
    name="analytics.fraud_scan_finished_job",
    autoretry_for=(ServiceUnavailable, *CLIENT_UNREACHABLE),
    max_retries=2,
    default_retry_delay=5,
    acks_late=False,
)
def fraud_scan_finished_job(event_id: str) -> dict | None:
    """Screen the events of a job that just finished (or of a stream window that closed), then claim its job_events
    row as done.

    The scan is idempotent, so the rare double run (the sweep and a slow notification) is harmless.
    """
    event = job_event_get(event_id=event_id)
    if event is None or job_event_handled(event_id=event_id, consumer=CONSUMER):
        return None
    if event["kind"] == STREAM_WINDOW_CLOSED:
        window = StreamWindow(event["stream_id"], event["window_from"], event["window_to"])
        report = services.fraud_scan(owner_id=event["owner_id"], window=window)
    else:
        report = services.fraud_scan(owner_id=event["owner_id"], job_id=event["job_id"])
    job_event_claim(event_id=event_id, consumer=CONSUMER)
    return {"events": report.events, "created": report.alerts_created, "updated": report.alerts_updated}


@shared_task(name="analytics.fraud_sweep")
def fraud_sweep() -> int:
    """Screen finished jobs that were not screened yet (leaving the last minutes to their own task)."""
    now = dt.datetime.now(dt.UTC)
    pending = job_events_unclaimed(consumer=CONSUMER, since=now - SWEEP_WINDOW, until=now - SWEEP_GRACE)
    for event in pending:
        fraud_scan_finished_job.delay(event["_id"])
    return len(pending)


@shared_task(name="analytics.fraud_scan", acks_late=False)
def fraud_scan(owner_id: int, job_id: str | None = None) -> dict:
    """On demand (API or admin): screen one job, or all of an owner's events."""
    report = services.fraud_scan(owner_id=owner_id, job_id=job_id)
    return {"events": report.events, "created": report.alerts_created, "updated": report.alerts_updated}


@shared_task(name="analytics.warm_analytics_page", acks_late=False)
def warm_analytics_page(event_id: str) -> list[str]:
    """After a job finished, compute the analytics page (no filters) and the dashboard's costly figures for its owner,
    and for staff while they look at theirs, so that the first person to open them gets them from the cache
    instead of waiting."""
    event = job_event_get(event_id=event_id)
    if event is None:
        return []
    users = get_user_model()
    owner = users.objects.filter(pk=event["owner_id"]).first() or users(pk=event["owner_id"], is_staff=False)
    readers = ([users(is_staff=True)] if staff_is_looking() else []) + ([] if owner.is_staff else [owner])
    for reader in readers:
        panels_get(user=reader, filters=EventFilters(), wanted=page_panels())
        dashboard_warm(user=reader)
    return ["staff" if reader.is_staff else f"owner {reader.pk}" for reader in readers]
