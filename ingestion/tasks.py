"""Celery tasks: one per pipeline stage, each taking ids and calling one service."""

import datetime as dt

from celery import Task, shared_task

from config.errors import ServiceUnavailable
from config.mongo import TRANSIENT_ERRORS
from ingestion.bulk import ES_UNREACHABLE
from ingestion.dispatch import dispatch_chunk
from ingestion.services import jobs, reindex, stages

# A delivery that killed its worker this many times is not run again: the job fails instead of looping.
MAX_WORKER_CRASHES = 3


class StageTask(Task):
    """Transient failures retry 3 attempts 5 s apart; a final failure fails the job, in this one place.

    A chunk that still cannot reach Elasticsearch waits for it (bounded) instead. Each delivery is
    recorded when it starts and when it ends, so one that keeps killing its worker is recognised.
    """

    autoretry_for = (*ES_UNREACHABLE, ServiceUnavailable, *TRANSIENT_ERRORS)
    max_retries = 2
    default_retry_delay = 5
    retry_backoff = False
    retry_jitter = False
    acks_late = True

    def __call__(self, *args, **kwargs):
        job_id, attempt = args[0], args[1]
        start_id, crashes = jobs.task_started(task_id=self.request.id or "", job_id=job_id)
        if crashes >= MAX_WORKER_CRASHES:
            where = f" of chunk {args[2]}" if len(args) > 2 else ""
            jobs.job_fail(
                job_id=job_id,
                attempt=attempt,
                reason=f"{self.name}{where} stopped its worker {crashes} times; the job is failed, not retried forever",
            )
            return None
        try:
            return super().__call__(*args, **kwargs)
        finally:
            jobs.task_finished(start_id=start_id)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id, attempt = args[0], args[1]
        if isinstance(exc, ES_UNREACHABLE) and len(args) > 2:
            jobs.chunk_wait_for_es(job_id=job_id, attempt=attempt, number=args[2], reason=str(exc))
            return
        jobs.job_fail(job_id=job_id, attempt=attempt, reason=f"{self.name} failed: {exc}")


@shared_task(name="ingestion.validate", base=StageTask, bind=True)
def validate(self, job_id: str, attempt: int) -> bool:
    return stages.job_validate(job_id=job_id, attempt=attempt, run=self.request.id or "")


@shared_task(name="ingestion.preview", base=StageTask)
def preview(job_id: str, attempt: int) -> bool:
    return stages.job_preview(job_id=job_id, attempt=attempt)


@shared_task(name="ingestion.split", base=StageTask, bind=True)
def split(self, job_id: str, attempt: int) -> int:
    chunks = stages.job_split(job_id=job_id, attempt=attempt, run=self.request.id or "")
    for number in chunks:
        dispatch_chunk(job_id, attempt, number)
    return len(chunks)


@shared_task(name="ingestion.parse", base=StageTask)
def parse(job_id: str, attempt: int, number: int) -> None:
    stages.chunk_parse(job_id=job_id, attempt=attempt, number=number)


@shared_task(name="ingestion.enrich", base=StageTask)
def enrich(job_id: str, attempt: int, number: int) -> None:
    stages.chunk_enrich(job_id=job_id, attempt=attempt, number=number)


@shared_task(name="ingestion.index", base=StageTask, bind=True)
def index(self, job_id: str, attempt: int, number: int) -> None:
    stages.chunk_index(job_id=job_id, attempt=attempt, number=number, run=self.request.id or "")


class ReindexTask(Task):
    """A re-index retries as the stages do; when its retries are used up, the job records that it failed (the job
    itself stays finished, with the counts Elasticsearch holds)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id, attempt, run = args
        reindex.job_fallback_reindex_failed(job_id=job_id, attempt=attempt, run=run, reason=str(exc))


@shared_task(
    name="ingestion.reindex_fallback",
    base=ReindexTask,
    autoretry_for=StageTask.autoretry_for,
    max_retries=StageTask.max_retries,
    default_retry_delay=StageTask.default_retry_delay,
    retry_backoff=False,
    retry_jitter=False,
    acks_late=True,
)
def reindex_fallback(job_id: str, attempt: int, run: int) -> dict | None:
    return reindex.job_fallback_reindex(job_id=job_id, attempt=attempt, run=run)


@shared_task(name="ingestion.chunk_resume")
def chunk_resume(job_id: str, attempt: int, number: int, since: str) -> str:
    return jobs.chunk_resume(job_id=job_id, attempt=attempt, number=number, since=dt.datetime.fromisoformat(since))


@shared_task(name="ingestion.watchdog")
def watchdog() -> dict:
    return jobs.watchdog_sweep(at=dt.datetime.now(dt.UTC))


@shared_task(name="ingestion.sweep_files")
def sweep_files() -> int:
    return jobs.files_sweep(at=dt.datetime.now(dt.UTC))


@shared_task(name="ingestion.delete_empty_indices")
def delete_empty_indices() -> list[str]:
    return jobs.indices_delete_empty()
