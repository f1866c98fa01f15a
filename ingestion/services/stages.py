"""The pipeline's stages, one service each; Celery tasks only call these.

A job runs validate -> preview -> split on the whole file, then parse -> enrich -> index on each
record-aligned chunk. Chunks hand work to the next stage through work files in storage (never through the
broker), so each stage may run on any worker host; a chunk reads only its own byte range of the source.
Each chunk writes only its own chunk document; the last chunk to finish (fan-in by counting "done" claims)
is the one finalizer that writes the totals on the job.
"""

import gzip
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import wraps

import orjson
from django.conf import settings
from elasticsearch import Elasticsearch

from config.es import get_es
from ingestion import files, geoip
from ingestion import repository as repo
from ingestion.bulk import body_lines, encode, iter_bodies, send, write_fallback
from ingestion.chunking import Chunk, plan_chunks, write_plain_copy
from ingestion.dispatch import dispatch_chunk
from ingestion.documents import daily_index, ensure_index_templates
from ingestion.enums import JobStage, JobStatus
from ingestion.field_types import infer_field_types, numeric_columns, read_decimal_comma
from ingestion.formats import FormatError, choose_encoding, is_gzip_name
from ingestion.indices import NoShardHeadroom, daily_indices, headroom_refusal, shard_usage
from ingestion.job import Job
from ingestion.live import live_feed_append
from ingestion.log_types import guess_log_type
from ingestion.parsers import Row
from ingestion.parsers.plain import parse_slice
from ingestion.records import RecordError, build_document
from ingestion.services.jobs import job_fail, job_finalize, now
from ingestion.timestamps import find_timestamp_field, format_timestamp, reads_day_first

TYPE_SAMPLE_RECORDS = 1000
ERROR_SAMPLE = 20
NUMERIC_NAMES = {int: "integer", float: "float", read_decimal_comma: "decimal_comma"}
NUMERIC_TYPES = {name: kind for kind, name in NUMERIC_NAMES.items()}


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _active(job_id: str, attempt: int) -> Job | None:
    """The job if this attempt is the one running; stale or duplicate deliveries get None."""
    job = repo.job_get(job_id)
    if job is None or job.attempt != attempt or job.status != JobStatus.PROCESSING:
        return None
    return job


def _rows(job: Job, chunk: Chunk) -> Iterator[Row]:
    data = files.read_stored_range(job.pipeline_source, chunk.start, chunk.end)
    return parse_slice(data, job.format, first_line=chunk.first_line, skip_header=chunk.number == 0)


# Whole-job stages


def job_validate(*, job_id: str, attempt: int, run: str) -> bool:
    """Claim the run, inflate a .gz, settle the encoding, turn a JSON array into NDJSON and plan the chunks.

    `run` names this delivery's task: a redelivery after a crash is the same run and may finish it.
    """
    if not repo.claim(job_id, "run", f"run:{job_id}:{attempt}", holder=run):
        return False
    job = repo.job_get(job_id)
    if job is None or job.attempt != attempt:
        return False
    if job.plan:
        return True  # validated before a crash: the chain goes on from here
    repo.job_transition(job_id, to=JobStatus.PROCESSING, changes={"stage": JobStage.VALIDATE, "started_at": now()})
    started = time.perf_counter()
    fmt, source = job.format, job.source_name
    try:
        if is_gzip_name(job.source_name):
            source = _inflate(job, "source.inflated")
        with files.open_stored(source) as stream:
            fmt = replace(fmt, encoding=choose_encoding(stream, fmt.encoding))
        if fmt.kind == "json_array":
            with files.open_stored(source) as stream, files.work_writer(job_id, attempt, "source.ndjson") as out:
                fmt = write_plain_copy(stream, fmt, out)
            source = files.work_name(job_id, attempt, "source.ndjson")
        with files.open_stored(source) as stream:
            chunks = plan_chunks(stream, fmt, settings.LOGS_CHUNK_MB * 2**20)
    except (FormatError, OSError, EOFError) as error:
        job_fail(job_id=job_id, attempt=attempt, reason=f"The file could not be read: {error}")
        return False
    repo.job_update(
        job_id,
        {
            "format": fmt,
            "pipeline_source": source,
            "plan": chunks,
            "stage": JobStage.PREVIEW,
            "stages.validate_ms": _ms_since(started),
        },
    )
    return True


def _inflate(job: Job, name: str) -> str:
    """The stored .gz decompressed into a work file (its size was bounded at upload); returns its stored name."""
    with (
        files.open_stored(job.source_name) as stored,
        gzip.GzipFile(fileobj=stored) as compressed,
        files.work_writer(job.job_id, job.attempt, name) as out,
    ):
        shutil.copyfileobj(compressed, out, 4 * 2**20)
    return files.work_name(job.job_id, job.attempt, name)


def job_preview(*, job_id: str, attempt: int) -> bool:
    """Infer the type of every field (and the log type) from the records of the first chunk."""
    job = _active(job_id, attempt)
    if job is None or not job.plan:
        return job is not None
    started = time.perf_counter()
    records = []
    for _line, record, _error, _raw in _rows(job, job.plan[0]):
        if record is not None:
            records.append(record)
            if len(records) == TYPE_SAMPLE_RECORDS:
                break
    rules = reading_rules(job, records)
    repo.job_update(
        job_id,
        {
            **rules,
            "log_type": job.log_type or guess_log_type(rules["field_types"]),
            "stage": JobStage.PARSE,
            "stages.preview_ms": _ms_since(started),
        },
    )
    return True


def reading_rules(job: Job, records: list[dict]) -> dict:
    """How to read the job's records, judged from a sample of them: field types, the CSV columns read as
    numbers (and in which notation), the time field and the date order. Fields of the Job, by name."""
    semicolons = job.format.kind == "csv" and job.format.delimiter == ";"
    types = infer_field_types(records, decimal_comma=semicolons)
    numeric = numeric_columns(types) if job.format.kind == "csv" else {}
    timestamp_field = job.timestamp_field or find_timestamp_field(types)
    dates = (record.get(timestamp_field) for record in records)
    return {
        "field_types": types,
        "numeric_columns": {name: NUMERIC_NAMES[reader] for name, reader in numeric.items()},
        "timestamp_field": timestamp_field,
        "day_first": reads_day_first(dates),
    }


def job_split(*, job_id: str, attempt: int, run: str = "") -> list[int]:
    """The chunks to start with: one per lane; each finished chunk starts the next of its lane.

    So a big job has at most LOGS_JOB_PARALLEL_CHUNKS chunks queued at a time, and the small jobs of
    other users queued behind it wait for a couple of chunks, not for the whole file.
    """
    job = _active(job_id, attempt)
    if job is None:
        return []
    if not job.plan:
        job_finalize(job_id=job_id, attempt=attempt, run=run)
    lanes = range(min(settings.LOGS_JOB_PARALLEL_CHUNKS, job.chunks_total))
    # `run` (this task's id) holds the claims: a redelivery after a crash dispatches them again.
    return [
        number
        for number in lanes
        if repo.claim(job_id, "dispatch", f"dispatch:{job_id}:{attempt}:{number}", holder=run or None)
    ]


# Per-chunk stages


def chunk_stage(stage: str) -> Callable:
    """The shared prologue and epilogue of a chunk stage.

    The stage function gets the running job and its chunk and returns the fields to record on the
    chunk; it is skipped (returns False) when this attempt is no longer the one running.
    """

    def decorate(work: Callable[[Job, Chunk], dict]) -> Callable[..., bool]:
        @wraps(work)
        def run(*, job_id: str, attempt: int, number: int) -> bool:
            job = _active(job_id, attempt)
            if job is None:
                return False
            started = time.perf_counter()
            fields = work(job, job.plan[number])
            repo.chunk_save(job_id, attempt, number, {**fields, f"{stage}_ms": _ms_since(started), "updated_at": now()})
            return True

        return run

    return decorate


@chunk_stage("parse")
def chunk_parse(job: Job, chunk: Chunk) -> dict:
    """Parse a chunk into documents (a work file); unparseable rows, and rows on days beyond the job's day
    limit, become dead letters."""
    numeric = {name: NUMERIC_TYPES[kind] for name, kind in job.numeric_columns.items()}
    owner = str(job.owner_id)  # every read is scoped to it
    ingested_at = format_timestamp(now())
    dead, parsed, blank = [], 0, 0
    days: dict[str, None] = {}  # in the order the file reaches them
    with files.work_writer(job.job_id, job.attempt, f"{chunk.number}.parsed") as out:
        for line, record, error, raw in _rows(job, chunk):
            if record is None:
                if error is None:
                    blank += 1
                else:
                    dead.append({"line": line, "raw": raw, "reason": error})
                continue
            try:
                doc = build_document(
                    record,
                    timestamp_field=job.timestamp_field,
                    numeric=numeric,
                    log_type=job.log_type,
                    day_first=job.day_first,
                )
            except RecordError as failure:
                dead.append({"line": line, "raw": raw, "reason": str(failure)})
                continue
            doc["job_id"], doc["file_id"], doc["line"], doc["owner"] = job.job_id, job.file_id, line, owner
            doc["ingested_at"] = ingested_at
            days[doc["@timestamp"][:10]] = None
            out.write(orjson.dumps((line, doc)))
            out.write(b"\n")
            parsed += 1
    accepted = job_days_accept(job_id=job.job_id, attempt=job.attempt, days=list(days), limit=day_limit(job))
    if len(accepted) < len(days):
        refused = _over_day_limit(job, chunk, accepted)
        parsed -= len(refused)
        dead = sorted(dead + refused, key=lambda row: row["line"])
    repo.dead_letters_replace(job.job_id, chunk.number, dead)
    return {
        "parsed": parsed,
        "dead_lettered": len(dead),
        "skipped_blank": blank,
        "errors": [{"line": row["line"], "reason": row["reason"]} for row in dead[:ERROR_SAMPLE]],
    }


def day_limit(job: Job) -> int:
    return job.day_limit or settings.LOGS_MAX_DAYS_PER_JOB


def job_days_accept(*, job_id: str, attempt: int, days: list[str], limit: int) -> set[str]:
    """Which of these event days (in file order) the job may have: each day takes one of its `limit` day slots.

    A slot is a unique-insert claim naming its day, so acceptance is atomic across concurrent chunks (on
    FerretDB too); a day accepted once stays accepted, and a redelivered chunk gets the same answer. A day
    never takes two slots: a chunk passes a slot only once it holds another day, and slots are never freed.
    """
    kind = f"dayslot-{attempt}"
    held = repo.claim_holders(job_id, kind)
    taken = set(held.values())
    slot = 0
    for day in days:
        while day not in taken and slot < limit:
            key = f"dayslot:{job_id}:{attempt}:{slot}"
            slot += 1
            if key not in held:
                taken.add(repo.claim_holder(job_id, kind, key, day))
    return taken.intersection(days)


def day_limit_reason(limit: int, day: str) -> str:
    return (
        f"This upload already has events on {limit} different days, the most one upload may create "
        f"(LOGS_MAX_DAYS_PER_JOB); its events on {day} were not indexed. Split the file by date range or ask an "
        "admin to raise the limit."
    )


def _over_day_limit(job: Job, chunk: Chunk, accepted: set[str]) -> list[dict]:
    """Rewrite the chunk's parsed file without the rows on refused days; returns those rows as dead letters."""
    refused: dict[int, str] = {}  # line -> its day
    parsed_name, kept_name = f"{chunk.number}.parsed", f"{chunk.number}.kept"
    with (
        files.open_stored(files.work_name(job.job_id, job.attempt, parsed_name)) as parsed,
        files.work_writer(job.job_id, job.attempt, kept_name) as out,
    ):
        for entry in parsed:
            line, doc = orjson.loads(entry)
            day = doc["@timestamp"][:10]
            if day in accepted:
                out.write(entry)
            else:
                refused[line] = day
    files.work_replace(job.job_id, job.attempt, kept_name, parsed_name)
    reasons = {day: day_limit_reason(day_limit(job), day) for day in set(refused.values())}
    return [
        {"line": line, "raw": raw, "reason": reasons[refused[line]]}
        for line, _record, _error, raw in _rows(job, chunk)
        if line in refused
    ]


@chunk_stage("enrich")
def chunk_enrich(job: Job, chunk: Chunk) -> dict:
    """Add GeoIP to each parsed document, stamp it `ingested_at`, and write the chunk's ready-to-send _bulk body."""
    prefix = settings.LOGS_INDEX_PREFIX
    indices, geo = set(), Counter()
    # One stamp for the chunk: with its line range it names the documents of each bulk request (the live feed).
    ingested_at = format_timestamp(now())
    with (
        files.open_stored(files.work_name(job.job_id, job.attempt, f"{chunk.number}.parsed")) as parsed,
        files.work_writer(job.job_id, job.attempt, f"{chunk.number}.bulk") as out,
    ):
        for entry in parsed:
            line, doc = orjson.loads(entry)
            geo[geoip.enrich(doc)] += 1
            doc["ingested_at"] = ingested_at
            index = daily_index(prefix, doc["@timestamp"])
            indices.add(index)
            out.write(encode(doc, index=index, file_id=job.file_id, line=line))
    return {"indices": sorted(indices), "geo": dict(geo), "ingested_at": ingested_at}


@chunk_stage("index")
def _index_chunk(job: Job, chunk: Chunk) -> dict:
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    ensure_index_templates(es, prefix)
    enriched = repo.chunk_get(job.job_id, job.attempt, chunk.number)
    _check_shard_headroom(es, job, enriched.get("indices", []))
    indexed, rejected = 0, []
    with files.open_stored(files.work_name(job.job_id, job.attempt, f"{chunk.number}.bulk")) as bulk:
        for body in iter_bodies(bulk):
            outcome = send(es, body)
            indexed += outcome.indexed
            rejected.extend(outcome.rejected)
            live_feed_append(
                owner=str(job.owner_id),
                ingested_at=enriched.get("ingested_at", ""),
                source_field="file_id",
                source_value=job.file_id,
                lines=body_lines(body),
                count=outcome.indexed,
            )
    if rejected:
        write_fallback(es, prefix, _fallback_rows(job, chunk, dict(rejected)))
    return {
        "indexed": indexed,
        "fallback": len(rejected),
        "fallback_errors": [{"line": line, "reason": reason} for line, reason in rejected[:ERROR_SAMPLE]],
    }


def _check_shard_headroom(es: Elasticsearch, job: Job, needed: list[str]) -> None:
    """Raise NoShardHeadroom when creating the chunk's new daily indices would not leave room for others."""
    new = set(needed) - daily_indices(es, settings.LOGS_INDEX_PREFIX)
    if not new:
        return  # the usual case: every day of the chunk has its index already
    refusal = headroom_refusal(
        shard_usage(es, reserve=settings.LOGS_SHARD_RESERVE),
        new_indices=len(new),
        job_days=repo.count_claims(job.job_id, f"dayslot-{job.attempt}"),
    )
    if refusal:
        raise NoShardHeadroom(refusal)


def chunk_index(*, job_id: str, attempt: int, number: int, run: str = "") -> None:
    """Bulk-index the chunk (rows Elasticsearch rejects go to the fallback index), start the next chunk of
    its lane, then fan in. A chunk whose new days would not fit the cluster's shard budget fails the job.

    `run` (this task's id) holds the claims it takes, so a redelivery after a crash finishes the work
    (a second dispatch of the next chunk is harmless: chunks are idempotent).
    """
    try:
        if not _index_chunk(job_id=job_id, attempt=attempt, number=number):
            return
    except NoShardHeadroom as refusal:
        job_fail(job_id=job_id, attempt=attempt, reason=str(refusal))
        return
    total = repo.job_get(job_id).chunks_total
    following = number + settings.LOGS_JOB_PARALLEL_CHUNKS
    lane_key = f"dispatch:{job_id}:{attempt}:{following}"
    if following < total and repo.claim(job_id, "dispatch", lane_key, holder=run or None):
        dispatch_chunk(job_id, attempt, following)
    repo.claim(job_id, f"done-{attempt}", f"done:{job_id}:{attempt}:{number}")
    # Every chunk counts after its own claim, so the last one to claim sees them all.
    if repo.count_claims(job_id, f"done-{attempt}") >= total:
        job_finalize(job_id=job_id, attempt=attempt, run=run)


def _fallback_rows(job: Job, chunk: Chunk, reasons: dict[int, str]) -> list[dict]:
    return [
        {"job_id": job.job_id, "file_id": job.file_id, "line": line, "raw": raw, "reason": reasons[line]}
        for line, _record, _error, raw in _rows(job, chunk)
        if line in reasons
    ]
