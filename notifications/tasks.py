"""Celery tasks of the notifications app: send a delivery, sweep due retries, announce jobs and fraud alerts,
evaluate alert rules."""

import datetime as dt

from celery import shared_task

from config.errors import ServiceUnavailable
from notifications.services import evaluation, sources
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


@shared_task(name="notifications.rules_due")
def rules_due() -> int:
    """Queue the evaluation of every alert rule that is due (beat, every ALERT_RULES_SECONDS)."""
    due = evaluation.rules_due()
    for rule_id in due:
        rule_evaluate.delay(rule_id)
    return len(due)


@shared_task(name="notifications.rule_evaluate")
def rule_evaluate(rule_id: int, now: str | None = None) -> str | None:
    """Evaluate one alert rule if it is due; `now` (ISO 8601) evaluates as at that moment (tests, replays)."""
    run = evaluation.rule_evaluate(rule_id=rule_id, now=dt.datetime.fromisoformat(now) if now else None)
    if run is None:
        return None
    return "error" if run.error else "fired" if run.fired else "quiet"


@shared_task(name="notifications.rule_evaluations_prune")
def rule_evaluations_prune() -> int:
    """Delete alert rule runs older than ALERT_RULES_HISTORY_DAYS."""
    return evaluation.rule_evaluations_prune()
