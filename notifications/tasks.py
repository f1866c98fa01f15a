"""Celery tasks of the notifications app: send a delivery, sweep due retries, announce jobs and fraud alerts."""

from celery import shared_task

from config.errors import ServiceUnavailable
from notifications.services import sources
from notifications.services.deliveries import deliveries_due, delivery_send


# Acknowledged on receipt: an attempt is claimed in the database, and one whose worker died is found by the
# sweep once its claim lapses; a redelivered message could only find the claim taken.
@shared_task(name="notifications.deliver", acks_late=False)
def deliver(delivery_id: int) -> str | None:
    """Make the due attempt of one delivery."""
    delivery = delivery_send(delivery_id=delivery_id)
    return delivery.state if delivery is not None else None


@shared_task(name="notifications.deliveries_due")
def deliveries_due_sweep() -> int:
    """Queue every pending delivery whose attempt is due (retries with long waits, lost messages)."""
    return len(deliveries_due())


@shared_task(
    name="notifications.job_finished",
    autoretry_for=(ServiceUnavailable,),
    max_retries=2,
    default_retry_delay=5,
)
def job_finished(event_id: str) -> int:
    """Announce a finished job (told by ingestion through JOB_FINISHED_CONSUMERS)."""
    return sources.job_event_notify(event_id=event_id)


@shared_task(name="notifications.job_events_sweep")
def job_events_sweep() -> int:
    """Announce finished jobs whose notification was lost."""
    missed = sources.job_events_missed()
    for event_id in missed:
        job_finished.delay(event_id)
    return len(missed)


@shared_task(name="notifications.fraud_alerts")
def fraud_alerts() -> int:
    """Announce fraud alerts that are new or changed tier since the last run."""
    return sources.fraud_alerts_notify()
