"""Job reads: which jobs a user may see, and a job as the API and the pages show it."""

import ast
import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import suppress

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django_celery_results.models import TaskResult
from rest_framework import status

from config.errors import ApplicationError
from config.es import get_es
from ingestion import expiry
from ingestion import repository as repo
from ingestion import stream_repository as streams_repo
from ingestion.bulk import TransientIndexError
from ingestion.enums import COUNT_NAMES, JobStatus
from ingestion.fallback import MAX_PAGED_ROWS, set_aside_page, set_aside_rows
from ingestion.indices import index_sizes, shard_usage
from ingestion.job import Job
from ingestion.services.jobs import totals


def _visible(job: Job | None, user: AbstractBaseUser) -> Job:
    # Another user's job is reported exactly like a missing one, so ids cannot be probed.
    if job is None or (not user.is_staff and job.owner_id != user.pk):
        raise ApplicationError("Job not found", status.HTTP_404_NOT_FOUND)
    return job


def job_get(*, job_id: str, user: AbstractBaseUser) -> Job:
    return _visible(repo.job_get(job_id), user)


def jobs_by_id(*, job_ids: Iterable[str], user: AbstractBaseUser) -> dict[str, Job]:
    """The jobs among `job_ids` that `user` may see, by id, in one query (e.g. for a page of alerts)."""
    jobs = repo.jobs_get(sorted(set(job_ids)))
    return {job.job_id: job for job in jobs if user.is_staff or job.owner_id == user.pk}


def job_get_by_file(*, file_id: str, user: AbstractBaseUser) -> Job:
    return _visible(repo.job_get_by_file(file_id), user)


# What a stream's lines add to the files' daily counts.
STREAMED_COUNTS = ("indexed", "dead_lettered", "fallback")


def owner_scope(user: AbstractBaseUser) -> int | None:
    """The owner whose jobs `user` sees; None means everyone's (staff)."""
    return None if user.is_staff else user.pk


def job_page(
    *, user: AbstractBaseUser, status_filter: str | None, page: int, page_size: int, search: str | None = None
) -> tuple[list[Job], int]:
    return repo.job_page(
        owner_id=owner_scope(user),
        status=status_filter,
        search=search,
        skip=(page - 1) * page_size,
        limit=page_size,
    )


def jobs_by_status(*, user: AbstractBaseUser) -> dict[str, int]:
    return repo.jobs_count_by_status(owner_id=owner_scope(user))


def shard_budget() -> dict[str, int]:
    """Shards used of the cluster's budget (every user's daily indices draw on it) and the reserve for small uploads."""
    return shard_usage(get_es(), reserve=settings.LOGS_SHARD_RESERVE).as_dict()


def jobs_finished_recently(*, user: AbstractBaseUser, now: dt.datetime, days: int = 14) -> list[dict]:
    """Finish time, counts and elapsed time of the jobs that finished on the last `days` days (from midnight of the
    first, so the answer serves ingest_activity all day long until a job record changes)."""
    first_day = (now - dt.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return repo.jobs_finished_since(owner_id=owner_scope(user), since=first_day)


def ingest_activity(*, user: AbstractBaseUser, now: dt.datetime, jobs: list[dict], days: int = 14) -> dict:
    """Lines indexed, dead-lettered and in fallback per day (files by the day their job finished, from `jobs` as
    jobs_finished_recently gave them; streams by the day received), the last 24 hours and the ingest rate of files."""
    owner_id = owner_scope(user)
    per_day = {
        (now - dt.timedelta(days=offset)).date().isoformat(): dict.fromkeys(("jobs", *COUNT_NAMES), 0)
        for offset in range(days - 1, -1, -1)
    }
    recent = [job for job in jobs if job["finished_at"] >= now - dt.timedelta(hours=24)]
    for job in jobs:
        day = per_day.get(job["finished_at"].date().isoformat())
        if day is not None:
            day["jobs"] += 1
            for name in COUNT_NAMES:
                day[name] += job["counts"].get(name, 0)
    for row in streams_repo.counts_per_day(since_day=min(per_day), owner_id=owner_id):
        day = per_day.get(row["day"])
        if day is not None:
            for name in STREAMED_COUNTS:
                day[name] += row[name]
    last_24h = {name: sum(job["counts"].get(name, 0) for job in recent) for name in COUNT_NAMES}
    for name, value in streams_repo.counts_since(since=now - dt.timedelta(hours=24), owner_id=owner_id).items():
        last_24h[name] += value
    busy_seconds = sum(job.get("stages", {}).get("elapsed_ms", 0) for job in recent) / 1000
    indexed_24h = sum(job["counts"].get("indexed", 0) for job in recent)
    return {
        "per_day": [{"day": day, **values} for day, values in per_day.items()],
        "last_24h": last_24h,
        "jobs_24h": len(recent),
        # Events per second while jobs ran: what a user waits for, not diluted by idle hours.
        "ingest_rate": round(indexed_24h / busy_seconds) if busy_seconds else None,
        "totals": {name: sum(day[name] for day in per_day.values()) for name in COUNT_NAMES},
    }


def job_summary(job: Job) -> dict:
    return {
        "file_id": job.file_id,
        "job_id": job.job_id,
        "filename": job.filename,
        "file_type": job.file_type,
        "file_size": job.file_size,
        "total_lines": job.total_lines,
        "status": job.status.value,
        "uploaded_at": job.created_at,
    }


def job_detail(job: Job) -> dict:
    """The job as the API shows it; a running job's counts are summed live from its chunks."""
    counts, indices, errors = job.counts, job.indices, job.errors
    if job.status == JobStatus.PROCESSING:
        live = totals(repo.chunks_of(job.job_id, job.attempt))
        counts = {"total_lines": job.total_lines, **live["counts"]}
        indices, errors = live["indices"], live["errors"]
    done = sum(value for name, value in counts.items() if name != "total_lines")
    return {
        "job_id": job.job_id,
        "file_id": job.file_id,
        "filename": job.filename,
        "status": job.status.value,
        "stage": job.stage.value,
        "attempt": job.attempt,
        "progress": round(100 * done / job.total_lines, 1) if job.total_lines else 100.0,
        "counts": counts,
        "indices": indices,
        "errors": errors,
        "reason": job.reason,
        "log_type": job.log_type,
        "timestamp_field": job.timestamp_field,
        "field_types": job.field_types,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "stages": job.stages,
        "reindex": _reindex_outcome(job),
        "retention": job.retention,
    }


def _reindex_outcome(job: Job) -> dict | None:
    """The last re-index of the set-aside rows as users see it (its claim holder is ingestion's business)."""
    if job.reindex is None:
        return None
    shown = ("status", "requested_at", "finished_at", "moved", "still_set_aside", "reason")
    return {name: job.reindex.get(name) for name in shown}


# Rows shown in the job's API answer; the CSV downloads have every row, whole.
SAMPLE_ROWS = 20
SAMPLE_RAW_CHARACTERS = 1000


def job_rows(job: Job, counts: dict[str, int]) -> dict:
    """The first rejected and set-aside rows of a job (line, reason, raw), with how many there are of each."""
    rejected = repo.dead_letters_page(job.job_id, skip=0, limit=SAMPLE_ROWS) if counts["dead_lettered"] else []
    set_aside = []
    if counts["fallback"]:
        # The job's status must still answer while Elasticsearch does not: its rows are then left out.
        with suppress(TransientIndexError):
            set_aside = set_aside_page_of(job=job, page=1, page_size=SAMPLE_ROWS)[0]
    return {
        "rejected": {"count": counts["dead_lettered"], "rows": [_sample_row(row) for row in rejected]},
        "set_aside": {"count": counts["fallback"], "rows": [_sample_row(row) for row in set_aside]},
    }


def _sample_row(row: dict) -> dict:
    return {"line": row["line"], "reason": row["reason"], "raw": row["raw"][:SAMPLE_RAW_CHARACTERS]}


def set_aside_page_of(*, job: Job, page: int, page_size: int) -> tuple[list[dict], int]:
    """A page of the job's set-aside rows in line order, and how many there are (pages stop at 10,000 rows)."""
    skip = min((page - 1) * page_size, MAX_PAGED_ROWS)
    return set_aside_page(get_es(), settings.LOGS_INDEX_PREFIX, job.file_id, skip=skip, limit=page_size)


def set_aside_iter(*, job: Job) -> Iterator[dict]:
    return set_aside_rows(get_es(), settings.LOGS_INDEX_PREFIX, job.file_id)


# Whole-file stages, then the chunk stages (summed over chunks), then the wall-clock total.
STAGE_ORDER = ("validate", "preview", "parse", "enrich", "index", "elapsed")


def stage_timings(job: Job) -> list[tuple[str, int]]:
    """(stage, milliseconds) in pipeline order, for the stages that have run."""
    return [(name, job.stages[f"{name}_ms"]) for name in STAGE_ORDER if f"{name}_ms" in job.stages]


def dead_letters_page(*, job: Job, page: int, page_size: int) -> tuple[list[dict], int]:
    rows = repo.dead_letters_page(job.job_id, skip=(page - 1) * page_size, limit=page_size)
    return rows, repo.dead_letters_count(job.job_id)


def dead_letters_iter(*, job: Job) -> Iterator[dict]:
    return repo.dead_letters_iter(job.job_id)


def job_task_results(*, job: Job, limit: int = 50) -> list[TaskResult]:
    """The Celery task results (django-celery-results) of a job's current attempt, oldest first."""
    results = TaskResult.objects.filter(task_args__contains=job.job_id).order_by("date_created")[: limit * 4]
    return [result for result in results if _task_attempt(result.task_args) == job.attempt][:limit]


def _task_attempt(task_args: str | None) -> int | None:
    """Our tasks take (job_id, attempt[, chunk]); the results store them as a JSON string of their repr."""
    try:
        args = ast.literal_eval(task_args or "")
        if isinstance(args, str):
            args = ast.literal_eval(args)
    except (ValueError, SyntaxError):
        return None
    return args[1] if isinstance(args, list | tuple) and len(args) > 1 else None


def storage_used(*, user: AbstractBaseUser) -> list[dict]:
    """Storage per user (staff: every user; others: themselves): documents and their bytes, uploaded files kept and
    their bytes, rejected rows kept. Bytes of documents are an estimate: Elasticsearch sizes whole indices, so each
    user gets their documents times the average document size of each index."""
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    sizes = index_sizes(es, prefix)
    documents = expiry.documents_by_owner(es, prefix)
    stored = repo.storage_by_owner()
    owners = sorted(set(documents) | set(stored)) if user.is_staff else [user.pk]
    empty = {"jobs": 0, "files": 0, "file_bytes": 0, "dead_letters": 0}
    return [
        {
            "owner_id": owner,
            "documents": sum(documents.get(owner, {}).values()),
            "bytes": sum(
                expiry.estimate_bytes(sizes, index, count) for index, count in documents.get(owner, {}).items()
            ),
            **stored.get(owner, empty),
        }
        for owner in owners
    ]
