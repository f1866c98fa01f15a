"""The job's lifecycle: create, retry, delete, finalize, fail, and the watchdog's sweep.

Only these services, the pipeline stages and the re-index of set-aside rows write the job document. Finalize
and fail also record a "job finished" event in the outbox, for other apps to act on without ingestion knowing
them.
"""

import datetime as dt
import logging
import uuid
from collections import Counter
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from rest_framework import status

from config.errors import ApplicationError, ServiceUnavailable
from config.es import get_es
from ingestion import files
from ingestion import repository as repo
from ingestion.bulk import TransientIndexError, cluster_ready, count_file_documents, delete_file_documents, refresh
from ingestion.data_version import data_version_bump
from ingestion.dispatch import dispatch_chunk, dispatch_chunk_resume, dispatch_job, notify_job_finished
from ingestion.enums import COUNT_NAMES, JobStage, JobStatus
from ingestion.files import ObjectReceivedFile, ReceivedFile
from ingestion.formats import FormatError
from ingestion.indices import delete_if_empty, empty_daily_indices
from ingestion.inspection import inspect_file
from ingestion.job import Job, zero_counts

logger = logging.getLogger(__name__)

ERROR_SAMPLE = 20
# How often a chunk waiting for Elasticsearch checks whether it is back.
RESUME_CHECK_SECONDS = 10


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Upload(NamedTuple):
    job: Job
    # False when the same file was uploaded before and the caller asked to skip it: `job` is that earlier job.
    created: bool


def job_create(
    *,
    owner: AbstractBaseUser,
    received: ReceivedFile | ObjectReceivedFile,
    log_type: str = "",
    on_duplicate: str = "index",
) -> Upload:
    """Check a received file, store it, record its job and queue it; a file we cannot take is refused.

    A file this user uploaded before (same sha256) is indexed again (`on_duplicate` "index"), or nothing is
    stored and the earlier job is answered ("skip").
    """
    earlier = repo.job_latest_with_file(owner_id=owner.pk, sha256=received.sha256)
    if earlier is not None and on_duplicate == "skip":
        received.discard()
        return Upload(earlier, created=False)
    try:
        inspection = inspect_file(open_readable=received.open_readable, filename=received.name, size=received.size)
    except FormatError as error:
        received.discard()
        raise ApplicationError(error.message) from error
    created = now()
    file_id, job_id = uuid.uuid4().hex, uuid.uuid4().hex
    stored_name = files.store(received, file_id=file_id, now=created)
    job = Job(
        job_id=job_id,
        file_id=file_id,
        owner_id=owner.pk,
        owner_name=owner.get_username(),
        filename=files.display_name(received.name),
        file_type=inspection.file_type,
        file_size=received.size,
        sha256=received.sha256,
        stored_name=stored_name,
        source_name=stored_name,
        format=inspection.format,
        total_lines=inspection.total_lines,
        preview=inspection.preview,
        timestamp_field=inspection.timestamp_field,
        log_type=log_type,
        created_at=created,
        counts=zero_counts(inspection.total_lines),
        dispatched_at=created,
        duplicate_of=earlier.job_id if earlier else None,
        day_limit=settings.LOGS_MAX_DAYS_PER_JOB,
    )
    try:
        repo.job_insert(job)
    except ApplicationError:
        files.delete_stored(stored_name)  # no orphan file when the record cannot be written
        raise
    dispatch_job(job_id, job.attempt)
    return Upload(job, created=True)


def job_busy_claim(*, job_id: str, holder: str) -> None:
    """Become the one writer of a finished job (a retry, a deletion or a re-index), or raise 409."""
    stale_before = now() - dt.timedelta(minutes=settings.LOGS_STUCK_AFTER_MINUTES)
    if not repo.busy_claim(job_id, holder, stale_before=stale_before):
        raise ApplicationError(
            "Another change to this job (a retry, a re-index or a deletion) is under way; try again when it is done",
            status.HTTP_409_CONFLICT,
        )


def job_retry(*, job: Job) -> Job:
    """Run a finished job again under a new attempt; deterministic document ids make it idempotent."""
    if job.retention.get("file_deleted_at"):
        raise ApplicationError(
            f"This job cannot run again without its file: {file_gone_sentence(job)}", status.HTTP_409_CONFLICT
        )
    attempt = job.attempt + 1
    holder = f"retry:{job.job_id}:{attempt}"
    job_busy_claim(job_id=job.job_id, holder=holder)
    job = repo.job_get(job.job_id) or job
    if not job.finished or job.attempt + 1 != attempt:
        repo.busy_release(job.job_id, holder)
        raise ApplicationError(f"Job is {job.status}; only a finished job can be retried", status.HTTP_409_CONFLICT)
    # Two retries at once: only the first to claim the new attempt runs it.
    if not repo.claim(job.job_id, "retry", holder):
        repo.busy_release(job.job_id, holder)
        raise ApplicationError("A retry of this job has just started", status.HTTP_409_CONFLICT)
    repo.dead_letters_delete(job.job_id)
    repo.release_claims(job.job_id, keep=holder)
    _clean_work(job.job_id)
    repo.job_transition(
        job.job_id,
        to=JobStatus.PENDING,
        changes={
            "attempt": attempt,
            "stage": JobStage.QUEUED,
            "counts": zero_counts(job.total_lines),
            "indices": [],
            "errors": [],
            "reason": None,
            "started_at": None,
            "finished_at": None,
            "dispatched_at": now(),
            "resumed": False,
            "plan": [],
            "pipeline_source": None,
            "day_limit": settings.LOGS_MAX_DAYS_PER_JOB,
            "reindex": None,
        },
    )
    dispatch_job(job.job_id, attempt)
    return repo.job_get(job.job_id)


def file_gone_sentence(job: Job) -> str:
    """What the job's page and its refused retry say once retention deleted the uploaded file."""
    gone = job.retention["file_deleted_at"]
    still = "" if job.retention.get("events_deleted_at") else "; its events are still searchable"
    return (
        f"The uploaded file was deleted on {gone:%Y-%m-%d} by the retention policy "
        f"(keep files {job.retention.get('file_days')} days){still}"
    )


def events_gone_sentence(job: Job) -> str:
    """What the job's page says once retention deleted the job's events."""
    return (
        f"Events older than {job.retention.get('events_days')} days were deleted by the retention policy on "
        f"{job.retention['events_deleted_at']:%Y-%m-%d} ({job.retention.get('events_deleted', 0):,} events); "
        "the counts below are what the job indexed"
    )


def job_delete(*, job: Job) -> int:
    """Delete an upload: its documents (and the daily indices it leaves empty), dead letters, files and record;
    returns the documents deleted."""
    holder = f"delete:{job.job_id}"
    job_busy_claim(job_id=job.job_id, holder=holder)
    job = repo.job_get(job.job_id) or job
    if job.status == JobStatus.PROCESSING:
        repo.busy_release(job.job_id, holder)
        raise ApplicationError("Job is still processing; delete it when it has finished", status.HTTP_409_CONFLICT)
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    try:
        deleted = delete_file_documents(es, prefix, job.file_id)
        # The job's own list too: an earlier delete may have removed the documents and stopped before this.
        delete_if_empty(es, prefix, deleted.indices | set(job.indices))
    except TransientIndexError as error:
        repo.busy_release(job.job_id, holder)
        raise ServiceUnavailable(
            "The search index is unavailable, so nothing was deleted; try again shortly"
        ) from error
    repo.dead_letters_delete(job.job_id)
    repo.release_claims(job.job_id)
    _clean_work(job.job_id)
    files.delete_stored(job.stored_name, job.source_name)
    repo.job_delete(job.job_id)
    data_version_bump()
    return deleted.documents


# Ending a job


def totals(chunks: list[dict]) -> dict:
    """A job's counts, indices, first errors, GeoIP outcomes and stage timings, summed over its chunks."""
    counts = {name: sum(chunk.get(name, 0) for chunk in chunks) for name in COUNT_NAMES}
    errors = [error for chunk in chunks for error in chunk.get("errors", []) + chunk.get("fallback_errors", [])]
    return {
        "counts": counts,
        "indices": sorted({index for chunk in chunks for index in chunk.get("indices", [])}),
        "errors": sorted(errors, key=lambda error: error["line"])[:ERROR_SAMPLE],
        "geo": dict(sum((Counter(chunk.get("geo", {})) for chunk in chunks), Counter())),
        "stage_ms": {
            stage: sum(chunk.get(f"{stage}_ms", 0) for chunk in chunks) for stage in ("parse", "enrich", "index")
        },
    }


def final_status(counts: dict[str, int], total_lines: int) -> tuple[JobStatus, str | None]:
    """The status a finished job's counts call for, with the reason when it failed."""
    accounted = sum(counts.values())
    if accounted != total_lines:
        return JobStatus.FAILED, f"{accounted} of {total_lines} lines accounted for"
    if counts["indexed"] == 0 and accounted:
        return JobStatus.FAILED, "No line could be indexed"
    if counts["dead_lettered"] or counts["fallback"]:
        return JobStatus.COMPLETED_WITH_ERRORS, None
    return JobStatus.COMPLETED, None


def job_finalize(*, job_id: str, attempt: int, run: str = "") -> None:
    """Write the totals and the final status; only the first caller (claim) does it, or its redelivery."""
    # Before the claim: if Elasticsearch is away now, the retried task can still finalize later.
    refresh(get_es(), settings.LOGS_INDEX_PREFIX)
    if not repo.claim(job_id, f"final-{attempt}", f"final:{job_id}:{attempt}", holder=run or None):
        return
    job = repo.job_get(job_id)
    summed = totals(repo.chunks_of(job_id, attempt))
    final, reason = final_status(summed["counts"], job.total_lines)
    finished = now()
    started = job.started_at or finished
    _finish(
        job,
        final,
        {
            "counts": {"total_lines": job.total_lines, **summed["counts"]},
            "indices": summed["indices"],
            "errors": summed["errors"],
            "geo": summed["geo"],
            "reason": reason,
            "finished_at": finished,
            **{f"stages.{stage}_ms": ms for stage, ms in summed["stage_ms"].items()},
            "stages.elapsed_ms": round((finished - started).total_seconds() * 1000),
        },
    )


def job_fail(*, job_id: str, attempt: int, reason: str) -> None:
    """End a job as failed with a readable reason (the one place final failures are written)."""
    if not repo.claim(job_id, f"final-{attempt}", f"final:{job_id}:{attempt}"):
        return
    job = repo.job_get(job_id)
    if job is None or job.attempt != attempt:
        return
    summed = totals(repo.chunks_of(job_id, attempt))
    _finish(
        job,
        JobStatus.FAILED,
        {
            "reason": reason,
            "finished_at": now(),
            "counts": {"total_lines": job.total_lines, **counts_as_indexed(job, summed["counts"])},
            "indices": summed["indices"],
            "errors": summed["errors"],
        },
    )


def counts_as_indexed(job: Job, counts: dict[str, int]) -> dict[str, int]:
    """Counts whose indexed and fallback figures are what Elasticsearch holds (when it answers).

    A failed job may have sent part of a chunk before it stopped; its counts must not claim less.
    """
    try:
        indexed, fallback = count_file_documents(get_es(), settings.LOGS_INDEX_PREFIX, job.file_id)
    except TransientIndexError:
        return counts
    return {**counts, "indexed": indexed, "fallback": fallback}


def _finish(job: Job, final: JobStatus, changes: dict) -> None:
    repo.job_transition(job.job_id, to=final, changes={"stage": JobStage.DONE, **changes})
    data_version_bump()
    event_id = repo.event_record(job=job, status=final, at=changes["finished_at"])
    _clean_work(job.job_id)
    notify_job_finished(event_id)


def _clean_work(job_id: str) -> None:
    files.delete_work(job_id)
    repo.chunks_delete(job_id)
    repo.task_starts_delete(job_id)


# Waiting for Elasticsearch


def chunk_wait_for_es(*, job_id: str, attempt: int, number: int, reason: str) -> None:
    """A chunk used up its attempts against an unreachable Elasticsearch: wait for it (bounded) instead of failing."""
    logger.warning("job %s chunk %s waits for Elasticsearch: %s", job_id, number, reason)
    dispatch_chunk_resume(job_id, attempt, number, now().isoformat(), RESUME_CHECK_SECONDS)


def chunk_resume(*, job_id: str, attempt: int, number: int, since: dt.datetime) -> str:
    """Start the chunk again once Elasticsearch answers; fail the job when it stays away too long."""
    job = repo.job_get(job_id)
    if job is None or job.attempt != attempt or job.status != JobStatus.PROCESSING:
        return "gone"
    if cluster_ready(get_es()):
        dispatch_chunk(job_id, attempt, number)
        return "resumed"
    waited = (now() - since).total_seconds()
    if waited > settings.LOGS_ES_WAIT_SECONDS:
        job_fail(
            job_id=job_id,
            attempt=attempt,
            reason=f"Elasticsearch could not be reached for {waited:.0f} s (the limit is "
            f"{settings.LOGS_ES_WAIT_SECONDS} s); retry the job once it is back",
        )
        return "failed"
    dispatch_chunk_resume(job_id, attempt, number, since.isoformat(), RESUME_CHECK_SECONDS)
    return "waiting"


# Housekeeping


def files_sweep(*, at: dt.datetime) -> int:
    """Temporary files and work folders left for more than a day (a crash, a refused request) go."""
    running = {job.job_id for job in repo.jobs_stale(status=JobStatus.PROCESSING, before=at, field="created_at")}
    return files.sweep(older_than=at - dt.timedelta(days=1), keep_work=running)


def indices_delete_empty(*, dry_run: bool = False) -> list[str]:
    """Delete the daily indices that hold no document (each checked under a write block); returns their names."""
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    empty = empty_daily_indices(es, prefix)
    return empty if dry_run else delete_if_empty(es, prefix, empty)


# The watchdog


def _stuck_processing(at: dt.datetime) -> list[Job]:
    limit = at - dt.timedelta(minutes=settings.LOGS_STUCK_AFTER_MINUTES)
    stuck = []
    for job in repo.jobs_stale(status=JobStatus.PROCESSING, before=limit, field="started_at"):
        activity = [chunk.get("updated_at") for chunk in repo.chunks_of(job.job_id, job.attempt)]
        # A stage still beating is progress too: a long one (inflating a 1 GB file) is not started twice.
        activity.append(repo.task_last_beat(job.job_id))
        if max(filter(None, activity), default=job.started_at) < limit:
            stuck.append(job)
    return stuck


def _unfinished_chunks(job: Job) -> list[int]:
    done = {chunk["number"] for chunk in repo.chunks_of(job.job_id, job.attempt) if "indexed" in chunk}
    return [number for number in range(job.chunks_total) if number not in done]


def watchdog_sweep(*, at: dt.datetime) -> dict:
    """Re-dispatch jobs left pending (the broker was down); resume once, or fail, jobs that stopped moving."""
    grace = dt.timedelta(seconds=settings.LOGS_PENDING_GRACE_SECONDS)
    pending = repo.jobs_stale(status=JobStatus.PENDING, before=at - grace, field="dispatched_at")
    for job in pending:
        if dispatch_job(job.job_id, job.attempt):
            repo.job_update(job.job_id, {"dispatched_at": at})
    stuck = _stuck_processing(at)
    for job in stuck:
        if job.resumed:
            job_fail(job_id=job.job_id, attempt=job.attempt, reason="No progress; gave up")
            continue
        repo.job_update(job.job_id, {"resumed": True, "started_at": at})
        for number in _unfinished_chunks(job):
            dispatch_chunk(job.job_id, job.attempt, number)
    return {"redispatched": len(pending), "stuck": len(stuck)}
