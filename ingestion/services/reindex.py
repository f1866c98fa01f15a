"""Re-indexing a job's set-aside rows: read them again with today's rules and move the ones that now fit.

A row is set aside when Elasticsearch refused it: a field's type clashes with the earlier rows of its day,
or one of our rules read a value wrongly (decimal commas, before they were understood). The request takes the
job's "busy" claim and queues one task, which is then the finished job's only writer. The task reads every
set-aside row through the pipeline's own steps (parse, build_document, the day limit, GeoIP, bulk), indexes
those that fit under their deterministic ids (so nothing is duplicated, even when a delivery is repeated),
removes them from the fallback index, and writes the counts Elasticsearch then holds.
"""

import gzip
import itertools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace

from django.conf import settings
from elasticsearch import Elasticsearch
from rest_framework import status

from config.errors import ApplicationError, ServiceUnavailable
from config.es import get_es
from ingestion import files, geoip
from ingestion import repository as repo
from ingestion.bulk import count_file_documents, encode, send, write_fallback
from ingestion.data_version import data_version_bump
from ingestion.dispatch import dispatch_reindex, notify_job_finished
from ingestion.documents import daily_index, ensure_index_templates
from ingestion.enums import COUNT_NAMES
from ingestion.fallback import set_aside_page, set_aside_remove, set_aside_rows
from ingestion.formats import is_gzip_name
from ingestion.indices import NoShardHeadroom, daily_indices, headroom_refusal, shard_usage
from ingestion.job import Job
from ingestion.parsers.plain import parse_slice
from ingestion.records import RecordError, build_document
from ingestion.services.jobs import ERROR_SAMPLE, final_status, job_busy_claim, now
from ingestion.services.stages import (
    NUMERIC_TYPES,
    TYPE_SAMPLE_RECORDS,
    day_limit,
    day_limit_reason,
    job_days_accept,
    reading_rules,
)
from ingestion.timestamps import format_timestamp

PAGE_ROWS = 1000


def job_reindex_fallback(*, job: Job) -> Job:
    """Queue a re-index of a finished job's set-aside rows; the job says what moved once it is done."""
    holder = f"reindex:{job.job_id}:{uuid.uuid4().hex}"
    job_busy_claim(job_id=job.job_id, holder=holder)
    current = repo.job_get(job.job_id)
    refusal = _refusal(current)
    if refusal:
        repo.busy_release(job.job_id, holder)
        raise refusal
    run = ((current.reindex or {}).get("run") or 0) + 1
    record = {
        "run": run,
        "holder": holder,
        "status": "queued",
        "requested_at": now(),
        "fallback_before": current.counts["fallback"],
    }
    repo.job_update(job.job_id, {"reindex": record})
    if not dispatch_reindex(job.job_id, current.attempt, run):
        repo.job_update(job.job_id, {"reindex": current.reindex})
        repo.busy_release(job.job_id, holder)
        raise ServiceUnavailable("The task queue is unavailable, so the re-index was not started; try again shortly")
    return repo.job_get(job.job_id)


def _refusal(job: Job | None) -> ApplicationError | None:
    """Why this job's set-aside rows cannot be re-indexed now, if they cannot."""
    if job is None:
        return ApplicationError("Job not found", status.HTTP_404_NOT_FOUND)
    if not job.finished:
        message = f"Job is {job.status}; its set-aside rows can be re-indexed once it has finished"
    elif sum(job.counts.get(name, 0) for name in COUNT_NAMES) != job.total_lines:
        message = "This job stopped before every line was accounted for; retry it instead"
    elif not job.counts.get("fallback"):
        message = "This job has no set-aside rows to re-index"
    else:
        return None
    return ApplicationError(message, status.HTTP_409_CONFLICT)


def job_fallback_reindex(*, job_id: str, attempt: int, run: int) -> dict | None:
    """The task's work: move the set-aside rows that fit today's rules, then write the outcome on the job.

    None when this delivery has nothing to do: the run is over, or another change took the job over.
    """
    job, holder = _running(job_id, attempt, run)
    if job is None:
        return None
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    ensure_index_templates(es, prefix)
    rules = _current_rules(job)
    indices: set[str] = set()
    reason = None
    try:
        for rows in _pages(set_aside_rows(es, prefix, job.file_id)):
            if not repo.busy_renew(job_id, holder):
                return None
            indices |= _move(es, prefix, job, rules, rows)
    except NoShardHeadroom as refusal:
        reason = str(refusal)
    return _finish(es, prefix, job, holder, {**rules, "indices": sorted(set(job.indices) | indices)}, reason)


def job_fallback_reindex_failed(*, job_id: str, attempt: int, run: int, reason: str) -> None:
    """Record a re-index that failed for good (its retries used up), with the counts as they now are."""
    job, holder = _running(job_id, attempt, run)
    if job is not None:
        es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
        _finish(es, prefix, job, holder, {}, f"The re-index stopped: {reason}", counted=False)


def _running(job_id: str, attempt: int, run: int) -> tuple[Job | None, str]:
    """The job and the re-index's holder when this run is the one queued and still holds the job."""
    job = repo.job_get(job_id)
    record = (job.reindex or {}) if job is not None else {}
    if job is None or job.attempt != attempt or record.get("run") != run or record.get("status") != "queued":
        return None, ""
    if not repo.busy_renew(job_id, record["holder"]):
        return None, ""
    return job, record["holder"]


def _current_rules(job: Job) -> dict:
    """Today's field types and number columns of a CSV job, inferred again from the first records of its stored
    file as the preview stage does. Its time field and date order stay those its indexed rows were read with."""
    if job.format.kind != "csv":
        return {"field_types": job.field_types, "numeric_columns": job.numeric_columns}
    rules = reading_rules(job, _first_records(job))
    return {"field_types": rules["field_types"], "numeric_columns": rules["numeric_columns"]}


def _first_records(job: Job) -> list[dict]:
    with files.open_stored(job.source_name) as stored:
        stream = gzip.GzipFile(fileobj=stored) if is_gzip_name(job.source_name) else stored
        head = stream.read(settings.LOGS_CHUNK_MB * 2**20)
    whole_lines = head[: head.rfind(b"\n") + 1] or head
    records = (record for _, record, _, _ in parse_slice(whole_lines, job.format, first_line=1, skip_header=True))
    return list(itertools.islice((record for record in records if record is not None), TYPE_SAMPLE_RECORDS))


def _pages(rows: Iterable[dict]) -> Iterator[list[dict]]:
    rows = iter(rows)
    while page := list(itertools.islice(rows, PAGE_ROWS)):
        yield page


def _reread(job: Job, rules: dict, row: dict) -> tuple[dict | None, str | None]:
    """The row's document under today's rules, or the reason it still cannot be one."""
    fmt = replace(job.format, encoding="utf-8")
    rows = parse_slice(row["raw"].encode() + b"\n", fmt, first_line=row["line"], skip_header=False)
    _line, record, error, _raw = next(iter(rows), (row["line"], None, row["reason"], row["raw"]))
    if record is None:
        return None, error or row["reason"]
    numeric = {name: NUMERIC_TYPES[kind] for name, kind in rules["numeric_columns"].items()}
    try:
        document = build_document(
            record,
            timestamp_field=job.timestamp_field,
            numeric=numeric,
            log_type=job.log_type,
            day_first=job.day_first,
        )
    except RecordError as failure:
        return None, str(failure)
    document["job_id"], document["file_id"], document["line"] = job.job_id, job.file_id, row["line"]
    document["owner"] = str(job.owner_id)
    return document, None


def _move(es: Elasticsearch, prefix: str, job: Job, rules: dict, rows: list[dict]) -> set[str]:
    """Index the rows of one page that fit, remove them from the fallback index and note today's reason on the
    others; returns the daily indices written."""
    ready: list[tuple[int, dict]] = []
    still: dict[int, str] = {}
    for row in rows:
        document, reason = _reread(job, rules, row)
        if document is None:
            still[row["line"]] = reason
        else:
            ready.append((row["line"], document))
    days = list(dict.fromkeys(document["@timestamp"][:10] for _line, document in ready))
    accepted = job_days_accept(job_id=job.job_id, attempt=job.attempt, days=days, limit=day_limit(job))
    kept = []
    ingested_at = format_timestamp(now())  # as the pipeline's enrich stage stamps every document it indexes
    for line, document in ready:
        day = document["@timestamp"][:10]
        if day in accepted:
            geoip.enrich(document)
            document["ingested_at"] = ingested_at
            kept.append((line, document, daily_index(prefix, document["@timestamp"])))
        else:
            still[line] = day_limit_reason(day_limit(job), day)
    indices = {index for _line, _document, index in kept}
    _check_headroom(es, prefix, job, indices)
    if kept:
        body = b"".join(encode(document, index=index, file_id=job.file_id, line=line) for line, document, index in kept)
        still.update(send(es, body).rejected)
    raw = {row["line"]: row["raw"] for row in rows}
    # Rewritten under the same ids: a row still set aside keeps its one place, with the reason it has today.
    write_fallback(
        es,
        prefix,
        [
            {"job_id": job.job_id, "file_id": job.file_id, "line": line, "raw": raw[line], "reason": reason}
            for line, reason in still.items()
        ],
    )
    set_aside_remove(es, prefix, job.file_id, [line for line, _document, _index in kept if line not in still])
    return indices


def _check_headroom(es: Elasticsearch, prefix: str, job: Job, indices: set[str]) -> None:
    new = indices - daily_indices(es, prefix)
    if not new:
        return
    usage = shard_usage(es, reserve=settings.LOGS_SHARD_RESERVE)
    refusal = headroom_refusal(
        usage, new_indices=len(new), job_days=repo.count_claims(job.job_id, f"dayslot-{job.attempt}")
    )
    if refusal:
        raise NoShardHeadroom(refusal)


def _finish(
    es: Elasticsearch, prefix: str, job: Job, holder: str, changes: dict, reason: str | None, counted: bool = True
) -> dict:
    """Write the counts Elasticsearch holds now, the status they call for and the re-index's outcome; let go."""
    counts = dict(job.counts)
    if counted:
        counts["indexed"], counts["fallback"] = count_file_documents(es, prefix, job.file_id)
    before = job.reindex.get("fallback_before", job.counts["fallback"])
    outcome = {
        **job.reindex,
        "status": "failed" if reason else "done",
        "finished_at": now(),
        "moved": max(0, before - counts["fallback"]),
        "still_set_aside": counts["fallback"],
        "reason": reason,
    }
    final, final_reason = final_status({name: counts.get(name, 0) for name in COUNT_NAMES}, job.total_lines)
    changes = {**changes, "counts": counts}
    if counted:
        changes["errors"] = _first_errors(es, prefix, job)
    if final != job.status:
        repo.job_transition(job.job_id, to=final, changes={**changes, "reason": final_reason})
    else:
        repo.job_update(job.job_id, changes)
    if outcome["moved"]:
        data_version_bump()  # cached analytics no longer count every event
        # Screening and other consumers see the job's new events as they see a finished job's.
        event_id = repo.event_record(
            job=job, status=final, at=outcome["finished_at"], occasion=f"reindex-{outcome['run']}"
        )
        notify_job_finished(event_id)
    # Let go before saying "done": whoever sees the outcome may change the job at once (a retry, a deletion).
    repo.busy_release(job.job_id, holder)
    repo.job_update(job.job_id, {"reindex": outcome})
    return {"moved": outcome["moved"], "still_set_aside": outcome["still_set_aside"], "reason": reason}


def _first_errors(es: Elasticsearch, prefix: str, job: Job) -> list[dict]:
    """The job's first rejected and set-aside lines with their reasons, as the pipeline lists them."""
    rejected = repo.dead_letters_page(job.job_id, skip=0, limit=ERROR_SAMPLE)
    set_aside, _total = set_aside_page(es, prefix, job.file_id, skip=0, limit=ERROR_SAMPLE)
    rows = sorted(rejected + set_aside, key=lambda row: row["line"])[:ERROR_SAMPLE]
    return [{"line": row["line"], "reason": row["reason"]} for row in rows]
