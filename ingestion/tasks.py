"""Celery tasks: one per pipeline stage, each taking ids and calling one service."""

import datetime as dt

from celery import Task, shared_task

from config.errors import ServiceUnavailable
from config.mongo import TRANSIENT_ERRORS
from ingestion.bulk import TransientIndexError
from ingestion.dispatch import dispatch_chunk
from ingestion.services import jobs, stages


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
        jobs.job_fail(job_id=job_id, attempt=attempt, reason=f"{self.name} failed: {exc}")


@shared_task(name="ingestion.validate", base=StageTask)
def validate(job_id: str, attempt: int) -> bool:
    return stages.job_validate(job_id=job_id, attempt=attempt)


@shared_task(name="ingestion.preview", base=StageTask)
def preview(job_id: str, attempt: int) -> bool:
    return stages.job_preview(job_id=job_id, attempt=attempt)


@shared_task(name="ingestion.split", base=StageTask)
def split(job_id: str, attempt: int) -> int:
    chunks = stages.job_split(job_id=job_id, attempt=attempt)
    for number in chunks:
        dispatch_chunk(job_id, attempt, number)
    return len(chunks)


@shared_task(name="ingestion.parse", base=StageTask)
def parse(job_id: str, attempt: int, number: int) -> None:
    stages.chunk_parse(job_id=job_id, attempt=attempt, number=number)


@shared_task(name="ingestion.enrich", base=StageTask)
def enrich(job_id: str, attempt: int, number: int) -> None:
    stages.chunk_enrich(job_id=job_id, attempt=attempt, number=number)


@shared_task(name="ingestion.index", base=StageTask)
def index(job_id: str, attempt: int, number: int) -> None:
    stages.chunk_index(job_id=job_id, attempt=attempt, number=number)


@shared_task(name="ingestion.watchdog")
def watchdog() -> dict:
    return jobs.watchdog_sweep(at=dt.datetime.now(dt.UTC))
