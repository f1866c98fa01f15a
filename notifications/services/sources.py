"""Where events come from: finished jobs (ingestion's job_events outbox) and new or re-tiered fraud alerts.

Both are idempotent: deliveries carry a key per event (a channel never gets one twice), and each source is
marked done only after its deliveries exist, so a worker dying half-way makes the next run finish the work.
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from analytics.fraud.models import FraudAlert
from config.errors import ApplicationError
from ingestion.contract import job_event_claim, job_event_get, job_event_handled, job_events_unclaimed, job_get
from notifications import events
from notifications.models import Cursor, FraudAlertNotice
from notifications.services.deliveries import deliveries_create

CONSUMER = "notifications"
# The sweep looks this far back for finished jobs nobody announced (a lost message, a worker restart).
JOB_SWEEP_WINDOW = dt.timedelta(days=2)
JOB_SWEEP_GRACE = dt.timedelta(minutes=5)
FRAUD_CURSOR = "fraud_alerts"
# Alerts are read from a little before the cursor: a scan's transaction may commit an alert whose updated_at is
# older than one already read. The notices make reading an alert twice harmless.
FRAUD_OVERLAP = dt.timedelta(minutes=10)
FRAUD_BATCH = 500


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def job_event_data(job) -> dict:
    """The `data` of a job event: ids, file name, status, counts, the reason of a failure, the job's page."""
    return {
        "job_id": job.job_id,
        "file_id": job.file_id,
        "filename": job.filename,
        "status": job.status.value,
        "counts": job.counts,
        "reason": job.reason,
        "finished_at": job.finished_at,
        "url": absolute(reverse("job-page", args=[job.job_id])),
    }


def job_event_notify(*, event_id: str) -> int:
    """Announce one finished job to its owner's channels, then claim the outbox row; how many deliveries."""
    event = job_event_get(event_id=event_id)
    if event is None or job_event_handled(event_id=event_id, consumer=CONSUMER):
        return 0
    owner = get_user_model().objects.filter(pk=event["owner_id"]).first()
    created = []
    if owner is not None and event["status"] in events.JOB_EVENT_BY_STATUS:
        try:
            job = job_get(job_id=event["job_id"], user=owner)
        except ApplicationError:
            job = None  # deleted since: nothing left to link to
        if job is not None:
            created = deliveries_create(
                owner_id=owner.pk,
                event_type=events.JOB_EVENT_BY_STATUS[event["status"]],
                data={**job_event_data(job), "status": event["status"]},
                key=f"job:{event_id}",
            )
    job_event_claim(event_id=event_id, consumer=CONSUMER)
    return len(created)


def job_events_missed(*, now: dt.datetime | None = None) -> list[str]:
    """Finished jobs of the last two days not announced yet (leaving the last minutes to their own task)."""
    now = now or dt.datetime.now(dt.UTC)
    pending = job_events_unclaimed(consumer=CONSUMER, since=now - JOB_SWEEP_WINDOW, until=now - JOB_SWEEP_GRACE)
    return [event["_id"] for event in pending]


def fraud_alert_data(alert: FraudAlert, previous_tier: str | None) -> dict:
    return {
        "alert_id": alert.pk,
        "entity_type": alert.entity_type,
        "entity": alert.entity,
        "tier": alert.tier,
        "previous_tier": previous_tier,
        "score": alert.score,
        "rules": alert.rules,
        "status": alert.status,
        "url": absolute(reverse("fraud-alert-page", args=[alert.pk])),
    }


def _fraud_alert_announce(alert: FraudAlert, notice: FraudAlertNotice | None) -> bool:
    """Announce an alert if it is new or its tier changed since it was last announced; whether it was."""
    if notice is not None and notice.tier == alert.tier:
        return False
    version = 0 if notice is None else notice.changes + 1
    deliveries_create(
        owner_id=alert.owner_id,
        event_type=events.FRAUD_ALERT,
        data=fraud_alert_data(alert, previous_tier=notice.tier if notice else None),
        key=f"fraud:{alert.pk}:{version}",
    )
    if notice is None:
        try:
            with transaction.atomic():
                FraudAlertNotice.objects.create(alert_id=alert.pk, tier=alert.tier)
        except IntegrityError:
            return False  # another sweep announced it at the same moment (same key: no second delivery)
        return True
    return bool(
        FraudAlertNotice.objects.filter(pk=notice.pk, tier=notice.tier).update(tier=alert.tier, changes=version)
    )


def _alerts_after(position: dt.datetime, last_pk: int) -> list[FraudAlert]:
    """The next batch of alerts in (updated_at, id) order after a position."""
    after = Q(updated_at__gt=position) | Q(updated_at=position, pk__gt=last_pk)
    return list(FraudAlert.objects.filter(after).order_by("updated_at", "pk")[:FRAUD_BATCH])


def fraud_alerts_notify(*, now: dt.datetime | None = None) -> int:
    """Announce alerts created or re-tiered since the cursor; how many were announced."""
    now = now or timezone.now()
    cursor, _ = Cursor.objects.get_or_create(name=FRAUD_CURSOR, defaults={"position": now - FRAUD_OVERLAP})
    position, last_pk, announced = cursor.position - FRAUD_OVERLAP, 0, 0
    while alerts := _alerts_after(position, last_pk):
        notices = {
            notice.alert_id: notice for notice in FraudAlertNotice.objects.filter(alert_id__in=[a.pk for a in alerts])
        }
        announced += sum(_fraud_alert_announce(alert, notices.get(alert.pk)) for alert in alerts)
        position, last_pk = alerts[-1].updated_at, alerts[-1].pk
    Cursor.objects.filter(pk=cursor.pk, position__lt=position).update(position=position)
    return announced
