"""Celery tasks: one per pipeline stage, each taking ids and calling one service."""

import datetime as dt
import logging

from celery import Task, chain, shared_task
from kombu.exceptions import OperationalError

from config.errors import ServiceUnavailable
from config.mongo import TRANSIENT_ERRORS
from ingestion import services
from ingestion.bulk import TransientIndexError
from uploads_app import repository as uploads_repo

logger = logging.getLogger(__name__)


class StageTask(Task):
    """Transient failures retry 3 attempts 5 s apart; a final failure fails the job, in this one place."""

    autoretry_for = (TransientIndexError, ServiceUnavailable, *TRANSIENT_ERRORS)
    max_retries = 2
    default_retry_delay = 5
    retry_backoff = False
    retry_jitter = False
    acks_late = True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id, attempt = args[0], args[1]
        services.job_fail(job_id=job_id, attempt=attempt, reason=f"{self.name} failed: {exc}")


@shared_task(name="ingestion.validate", base=StageTask)
def validate(job_id: str, attempt: int) -> bool:
    return services.job_validate(job_id=job_id, attempt=attempt)


@shared_task(name="ingestion.preview", base=StageTask)
def preview(job_id: str, attempt: int) -> bool:
    return services.job_preview(job_id=job_id, attempt=attempt)


@shared_task(name="ingestion.split", base=StageTask)
def split(job_id: str, attempt: int) -> int:
    chunks = services.job_split(job_id=job_id, attempt=attempt)
    for number in chunks:
        dispatch_chunk(job_id, attempt, number)
    return len(chunks)


@shared_task(name="ingestion.parse", base=StageTask)
def parse(job_id: str, attempt: int, number: int) -> None:
    services.chunk_parse(job_id=job_id, attempt=attempt, number=number)


@shared_task(name="ingestion.enrich", base=StageTask)
def enrich(job_id: str, attempt: int, number: int) -> None:
    services.chunk_enrich(job_id=job_id, attempt=attempt, number=number)


@shared_task(name="ingestion.index", base=StageTask)
def index(job_id: str, attempt: int, number: int) -> None:
    services.chunk_index(job_id=job_id, attempt=attempt, number=number)


def dispatch_chunk(job_id: str, attempt: int, number: int) -> None:
    chain(
        parse.si(job_id, attempt, number), enrich.si(job_id, attempt, number), index.si(job_id, attempt, number)
    ).delay()


def dispatch_job(job_id: str, attempt: int) -> bool:
    """Queue a job's stages; False when the broker is down (the watchdog dispatches it later)."""
    try:
        chain(validate.si(job_id, attempt), preview.si(job_id, attempt), split.si(job_id, attempt)).apply_async(
            retry=False
        )
    except OperationalError:
        logger.warning("broker unavailable; job %s stays pending for the watchdog", job_id)
        return False
    return True


@shared_task(name="ingestion.watchdog")
def watchdog() -> dict:
    """Re-dispatch uploads stuck in pending; resume (once) or fail jobs stuck in processing."""
    pending, stuck = services.stuck_jobs(now=dt.datetime.now(dt.UTC))
    for upload in pending:
        if dispatch_job(upload["job_id"], upload["attempt"]):
            uploads_repo.update(upload["job_id"], {"dispatched_at": dt.datetime.now(dt.UTC)})
    for upload in stuck:
        if upload.get("resumed"):
            services.job_fail(job_id=upload["job_id"], attempt=upload["attempt"], reason="No progress; gave up")
            continue
        uploads_repo.update(upload["job_id"], {"resumed": True, "started_at": dt.datetime.now(dt.UTC)})
        for number in services.unfinished_chunks(upload):
            dispatch_chunk(upload["job_id"], upload["attempt"], number)
    return {"redispatched": len(pending), "stuck": len(stuck)}
