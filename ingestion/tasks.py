"""Celery tasks: one per pipeline stage, each taking ids and calling one service."""

import datetime as dt
from typing import NoReturn

from celery import Task, shared_task
from celery.exceptions import Ignore

from config.errors import ServiceUnavailable
from config.mongo import TRANSIENT_ERRORS
from ingestion.bulk import ES_UNREACHABLE
from ingestion.dispatch import dispatch_chunk
from ingestion.services import deliveries, jobs, reindex, stages, streams
from ingestion.services import retention as retention_service
from ingestion.services.deliveries import Verdict

# A delivery that killed its worker this many times is not run again: the job fails instead of looping.
MAX_WORKER_CRASHES = 3


def _crash_reason(task: str, args: tuple, crashes: int) -> str:
    where = f" of chunk {args[2]}" if len(args) > 2 else ""
    return f"{task}{where} stopped its worker {crashes} times; the job is failed, not retried forever"


class StageTask(Task):
    """Transient failures get 3 attempts 5 s apart, around all of a stage's work; a final failure fails the job.

    All of it: the MongoDB bookkeeping of each delivery (its start, its heartbeat, its end, failing a job
    whose task keeps killing its worker) is under the same policy as the stage itself. A chunk that
    still cannot reach Elasticsearch waits for it (bounded) instead of failing. A second delivery of a
    task that is still running (the broker's visibility timeout is shorter than a long stage) waits
    instead of running it twice (see ingestion/services/deliveries.py). Final failures are written in
    one place, `on_failure`.
    """

    autoretry_for = (*ES_UNREACHABLE, ServiceUnavailable, *TRANSIENT_ERRORS)
    max_retries = 2
    default_retry_delay = 5
    retry_backoff = False
    retry_jitter = False
    acks_late = True

    def __call__(self, *args, **kwargs):
        job_id, attempt = args[0], args[1]
        delivery = self._with_retries(
            deliveries.delivery_start, task_id=self.request.id or "", job_id=job_id, tries=self.request.retries
        )
        if delivery.verdict is Verdict.WAIT:
            self._again_later()
        if delivery.verdict is Verdict.DONE:
            return None  # the chain goes on; its next tasks, already run, find themselves done too
        if delivery.crashes >= MAX_WORKER_CRASHES:
            reason = _crash_reason(self.name, args, delivery.crashes)
            self._with_retries(jobs.job_fail, job_id=job_id, attempt=attempt, reason=reason)
            return None
        try:
            with deliveries.delivery_heartbeat(start_id=delivery.start_id):
                result = super().__call__(*args, **kwargs)
        except BaseException:
            deliveries.delivery_ended_in_error(start_id=delivery.start_id)
            raise
        self._with_retries(deliveries.delivery_done, start_id=delivery.start_id)
        return result

    def _with_retries(self, service, **kwargs):
        """Run a bookkeeping service under the stage's policy: a MongoDB blip is retried like a stage error."""
        try:
            return service(**kwargs)
        except self.autoretry_for as error:
            raise self.retry(exc=error) from error

    def _again_later(self) -> NoReturn:
        """Queue this very message again (same task id, chain and try) for a while later; this delivery ends.

        Unlike a retry it uses up none of the 3 attempts: waiting for another delivery is not a failure.
        """
        self.signature_from_request(countdown=deliveries.heartbeat_seconds()).apply_async()
        raise Ignore()

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


# Streams: a batch's task retries transient failures 3 times, 5 s apart, like a stage; after that the batch stays
# queued and the stream sweeper dispatches it again later, so nothing received is dropped. Nothing reads its
# result: the batches' records are the outcome, so no result row is written per batch.
@shared_task(
    name="ingestion.stream_batch",
    ignore_result=True,
    autoretry_for=(*ES_UNREACHABLE, ServiceUnavailable, *TRANSIENT_ERRORS),
    max_retries=2,
    default_retry_delay=5,
    retry_backoff=False,
    retry_jitter=False,
    acks_late=True,
)
def stream_batch(batch_id: str) -> dict[str, dict] | None:
    return streams.batch_process(batch_id=batch_id)


@shared_task(name="ingestion.stream_sweep")
def stream_sweep() -> int:
    return streams.batches_sweep(at=dt.datetime.now(dt.UTC))


@shared_task(name="ingestion.stream_windows")
def stream_windows() -> int:
    return streams.stream_windows_close(at=dt.datetime.now(dt.UTC))


@shared_task(name="ingestion.retention", acks_late=True)
def retention() -> str:
    return retention_service.retention_run(trigger="beat").run_id
