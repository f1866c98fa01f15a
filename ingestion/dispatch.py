"""Queueing a job's tasks by name, so services can dispatch without importing the task module."""

import logging

from celery import chain, signature
from celery.canvas import Signature
from django.conf import settings
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def _stage(name: str, *args) -> Signature:
    return signature(f"ingestion.{name}", args=args, immutable=True)


def dispatch_job(job_id: str, attempt: int) -> bool:
    """Queue a job's whole-file stages; False when the broker is down (the watchdog dispatches it later)."""
    try:
        chain(
            _stage("validate", job_id, attempt), _stage("preview", job_id, attempt), _stage("split", job_id, attempt)
        ).apply_async(retry=False)
    except OperationalError:
        logger.warning("broker unavailable; job %s stays pending for the watchdog", job_id)
        return False
    return True


def dispatch_chunk(job_id: str, attempt: int, number: int) -> None:
    chain(
        _stage("parse", job_id, attempt, number),
        _stage("enrich", job_id, attempt, number),
        _stage("index", job_id, attempt, number),
    ).delay()


def dispatch_reindex(job_id: str, attempt: int, run: int) -> bool:
    """Queue a re-index of a job's set-aside rows; False when the broker is down."""
    try:
        signature("ingestion.reindex_fallback", args=(job_id, attempt, run)).apply_async(retry=False)
    except OperationalError:
        logger.warning("broker unavailable; the re-index of job %s was not started", job_id)
        return False
    return True


def notify_job_finished(event_id: str) -> None:
    """Tell the consumers named in JOB_FINISHED_CONSUMERS (fraud screening, ...) about a job_events row.

    By task name, so ingestion never imports them; a lost notification is caught by their own sweep.
    """
    for name in settings.JOB_FINISHED_CONSUMERS:
        try:
            signature(name, args=(event_id,)).apply_async(retry=False)
        except OperationalError:
            logger.warning("broker unavailable; %s will pick up %s on its sweep", name, event_id)


def dispatch_chunk_resume(job_id: str, attempt: int, number: int, since: str, countdown: float) -> None:
    """Check again in a while whether Elasticsearch is back for a chunk that could not reach it."""
    signature("ingestion.chunk_resume", args=(job_id, attempt, number, since)).apply_async(countdown=countdown)
