"""The ingestion pipeline, one service per stage; Celery tasks only call these.

A job runs validate -> preview -> split on the whole file, then parse -> enrich -> index on each
line-aligned chunk. Chunks hand work to the next stage through files in the job's work folder (never
through the broker). Each chunk writes only its own chunk document; the last chunk to finish (fan-in
by counting "done" claims) is the one finalizer that writes the totals on the upload.
"""

import datetime as dt
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import orjson
from django.conf import settings
from django.core.files.storage import default_storage

from ingestion import geoip
from ingestion import repository as repo
from ingestion.bulk import delete_file_documents, encode, iter_bodies, refresh, send, write_fallback
from ingestion.chunking import Chunk, plan_chunks, write_plain_copy
from ingestion.es import get_es
from ingestion.formats import FileFormat, FormatError, choose_encoding
from ingestion.index_templates import daily_index, ensure_index_templates
from ingestion.parsers import Row
from ingestion.parsers import csv as csv_parser
from ingestion.parsers import ndjson as ndjson_parser
from ingestion.records import RecordError, build_document, guess_log_type, infer_field_types, numeric_columns
from ingestion.timestamps import find_timestamp_field
from uploads_app import repository as uploads_repo

PREVIEW_RECORDS = 10
TYPE_SAMPLE_RECORDS = 1000
ERROR_SAMPLE = 20
NUMERIC_NAMES = {int: "integer", float: "float"}
NUMERIC_TYPES = {name: kind for kind, name in NUMERIC_NAMES.items()}
COUNT_NAMES = ("indexed", "dead_lettered", "fallback", "skipped_blank")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def work_dir(job_id: str, attempt: int) -> Path:
    path = Path(default_storage.path(f"work/{job_id}/{attempt}"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _active(job_id: str, attempt: int) -> dict | None:
    """The upload if this attempt of its job is the one running; stale or duplicate deliveries get None."""
    upload = uploads_repo.get(job_id)
    if upload is None or upload["attempt"] != attempt or upload["status"] != "processing":
        return None
    return upload


def parse_rows(data: bytes, fmt: FileFormat, chunk: Chunk) -> Iterator[Row]:
    if fmt.kind == "csv":
        return csv_parser.parse_chunk(data, fmt, chunk.first_line, skip_header=chunk.number == 0)
    return ndjson_parser.parse_chunk(data, fmt.encoding, chunk.first_line)


def _read_chunk(upload: dict, chunk: Chunk) -> bytes:
    with open(upload["pipeline_source"], "rb") as source:
        source.seek(chunk.start)
        return source.read(chunk.end - chunk.start)


# Whole-job stages


def job_validate(*, job_id: str, attempt: int) -> bool:
    """Claim the run, settle the encoding, turn a JSON array into NDJSON and plan the chunks."""
    if not repo.claim(job_id, "run", f"run:{job_id}:{attempt}"):
        return False
    upload = uploads_repo.get(job_id)
    if upload is None or upload["attempt"] != attempt:
        return False
    uploads_repo.transition(job_id, to="processing", fields={"stage": "validate", "started_at": _now()})
    started = time.perf_counter()
    fmt = FileFormat.from_dict(upload["format"])
    source = default_storage.path(upload["source_name"])
    try:
        with open(source, "rb") as stream:
            fmt = replace(fmt, encoding=choose_encoding(stream, fmt.encoding))
        if fmt.kind == "json_array":
            plain = str(work_dir(job_id, attempt) / "source.ndjson")
            with open(source, "rb") as stream:
                fmt = write_plain_copy(stream, fmt, plain)
            source = plain
        chunks = plan_chunks(source, fmt, settings.LOGS_CHUNK_MB * 2**20)
    except (FormatError, OSError) as error:
        job_fail(job_id=job_id, attempt=attempt, reason=f"The file could not be read: {error}")
        return False
    uploads_repo.update(
        job_id,
        {
            "format": fmt.to_dict(),
            "pipeline_source": source,
            "plan": [chunk.to_dict() for chunk in chunks],
            "chunks_total": len(chunks),
            "stage": "preview",
            "stages.validate_ms": _ms_since(started),
        },
    )
    return True


def job_preview(*, job_id: str, attempt: int) -> bool:
    """Store the first records and the inferred type of every field, read from the first chunk."""
    upload = _active(job_id, attempt)
    if upload is None or not upload["plan"]:
        return upload is not None
    started = time.perf_counter()
    fmt = FileFormat.from_dict(upload["format"])
    first = Chunk.from_dict(upload["plan"][0])
    records = []
    for _line, record, _error, _raw in parse_rows(_read_chunk(upload, first), fmt, first):
        if record is not None:
            records.append(record)
            if len(records) == TYPE_SAMPLE_RECORDS:
                break
    types = infer_field_types(records)
    numeric = numeric_columns(types) if fmt.kind == "csv" else {}
    uploads_repo.update(
        job_id,
        {
            "field_types": types,
            "numeric_columns": {name: NUMERIC_NAMES[kind] for name, kind in numeric.items()},
            "timestamp_field": upload.get("timestamp_field") or find_timestamp_field(types),
            "log_type": upload.get("log_type") or guess_log_type(types),
            "preview": records[:PREVIEW_RECORDS],
            "preview_lines": len(records[:PREVIEW_RECORDS]),
            "stage": "parse",
            "stages.preview_ms": _ms_since(started),
        },
    )
    return True


def job_split(*, job_id: str, attempt: int) -> list[int]:
    """The chunk numbers to process; a file without records is finished here."""
    upload = _active(job_id, attempt)
    if upload is None:
        return []
    if not upload["plan"]:
        job_finalize(job_id=job_id, attempt=attempt)
    return list(range(len(upload["plan"])))


# Per-chunk stages


def chunk_parse(*, job_id: str, attempt: int, number: int) -> None:
    """Parse a chunk into documents (a work file); unparseable rows become dead letters."""
    upload = _active(job_id, attempt)
    if upload is None:
        return
    started = time.perf_counter()
    fmt = FileFormat.from_dict(upload["format"])
    chunk = Chunk.from_dict(upload["plan"][number])
    numeric = {name: NUMERIC_TYPES[kind] for name, kind in upload["numeric_columns"].items()}
    timestamp_field, log_type, file_id = upload["timestamp_field"], upload["log_type"], upload["file_id"]
    dead, parsed, blank = [], 0, 0
    with open(work_dir(job_id, attempt) / f"{number}.parsed", "wb") as out:
        for line, record, error, raw in parse_rows(_read_chunk(upload, chunk), fmt, chunk):
            if record is None:
                if error is None:
                    blank += 1
                else:
                    dead.append({"line": line, "raw": raw, "reason": error})
                continue
            try:
                doc = build_document(record, timestamp_field=timestamp_field, numeric=numeric, log_type=log_type)
            except RecordError as failure:
                dead.append({"line": line, "raw": raw, "reason": str(failure)})
                continue
            doc["job_id"], doc["file_id"], doc["line"] = job_id, file_id, line
            out.write(orjson.dumps((line, doc)))
            out.write(b"\n")
            parsed += 1
    repo.dead_letters_replace(job_id, number, dead)
    repo.chunk_save(
        job_id,
        attempt,
        number,
        {
            "parsed": parsed,
            "dead_lettered": len(dead),
            "skipped_blank": blank,
            "errors": [{"line": row["line"], "reason": row["reason"]} for row in dead[:ERROR_SAMPLE]],
            "parse_ms": _ms_since(started),
            "updated_at": _now(),
        },
    )


def chunk_enrich(*, job_id: str, attempt: int, number: int) -> None:
    """Add GeoIP to each parsed document and write the chunk's ready-to-send _bulk body."""
    upload = _active(job_id, attempt)
    if upload is None:
        return
    started = time.perf_counter()
    folder, prefix, file_id = work_dir(job_id, attempt), settings.LOGS_INDEX_PREFIX, upload["file_id"]
    indices, geo = set(), Counter()
    with open(folder / f"{number}.parsed", "rb") as parsed, open(folder / f"{number}.bulk", "wb") as out:
        for entry in parsed:
            line, doc = orjson.loads(entry)
            geo[geoip.enrich(doc)] += 1
            index = daily_index(prefix, doc["@timestamp"])
            indices.add(index)
            out.write(encode(doc, index=index, file_id=file_id, line=line))
    repo.chunk_save(
        job_id,
        attempt,
        number,
        {"indices": sorted(indices), "geo": dict(geo), "enrich_ms": _ms_since(started), "updated_at": _now()},
    )


def chunk_index(*, job_id: str, attempt: int, number: int) -> None:
    """Bulk-index the chunk; rows Elasticsearch rejects go to the fallback index with their raw text."""
    upload = _active(job_id, attempt)
    if upload is None:
        return
    started = time.perf_counter()
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    ensure_index_templates(es, prefix)
    indexed, rejected = 0, []
    for body in iter_bodies(str(work_dir(job_id, attempt) / f"{number}.bulk")):
        outcome = send(es, body)
        indexed += outcome.indexed
        rejected.extend(outcome.rejected)
    if rejected:
        write_fallback(es, prefix, _fallback_rows(upload, number, dict(rejected)))
    repo.chunk_save(
        job_id,
        attempt,
        number,
        {
            "indexed": indexed,
            "fallback": len(rejected),
            "fallback_errors": [{"line": line, "reason": reason} for line, reason in rejected[:ERROR_SAMPLE]],
            "index_ms": _ms_since(started),
            "updated_at": _now(),
        },
    )
    repo.claim(job_id, f"done-{attempt}", f"done:{job_id}:{attempt}:{number}")
    # Every chunk counts after its own claim, so the last one to claim sees them all.
    if repo.count_claims(job_id, f"done-{attempt}") >= upload["chunks_total"]:
        job_finalize(job_id=job_id, attempt=attempt)


def _fallback_rows(upload: dict, number: int, reasons: dict[int, str]) -> list[dict]:
    chunk = Chunk.from_dict(upload["plan"][number])
    fmt = FileFormat.from_dict(upload["format"])
    rows = []
    for line, _record, _error, raw in parse_rows(_read_chunk(upload, chunk), fmt, chunk):
        if line in reasons:
            rows.append(
                {
                    "job_id": upload["job_id"],
                    "file_id": upload["file_id"],
                    "line": line,
                    "raw": raw,
                    "reason": reasons[line],
                }
            )
    return rows


# Ending a job


def _totals(chunks: list[dict]) -> dict:
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


def job_progress(upload: dict) -> dict:
    """Live totals of a running job, summed from its chunk documents."""
    return _totals(repo.chunks_of(upload["job_id"], upload["attempt"]))


def job_finalize(*, job_id: str, attempt: int) -> None:
    """Write the totals and the final status; only the first caller (claim) does it."""
    if not repo.claim(job_id, f"final-{attempt}", f"final:{job_id}:{attempt}"):
        return
    upload = uploads_repo.get(job_id)
    totals = _totals(repo.chunks_of(job_id, attempt))
    counts = totals["counts"]
    refresh(get_es(), settings.LOGS_INDEX_PREFIX)
    accounted = sum(counts.values())
    if accounted != upload["total_lines"]:
        status, reason = "failed", f"{accounted} of {upload['total_lines']} lines accounted for"
    elif counts["indexed"] == 0 and accounted:
        status, reason = "failed", "No line could be indexed"
    elif counts["dead_lettered"] or counts["fallback"]:
        status, reason = "completed_with_errors", None
    else:
        status, reason = "completed", None
    finished = _now()
    started = upload.get("started_at") or finished
    uploads_repo.transition(
        job_id,
        to=status,
        fields={
            "stage": "done",
            "counts": {"total_lines": upload["total_lines"], **counts},
            "indices": totals["indices"],
            "errors": totals["errors"],
            "geo": totals["geo"],
            "reason": reason,
            "finished_at": finished,
            **{f"stages.{stage}_ms": ms for stage, ms in totals["stage_ms"].items()},
            "stages.elapsed_ms": round((finished - started).total_seconds() * 1000),
        },
    )
    _clean_work(job_id)


def job_fail(*, job_id: str, attempt: int, reason: str) -> None:
    """End a job as failed with a readable reason (the one place final failures are written)."""
    if not repo.claim(job_id, f"final-{attempt}", f"final:{job_id}:{attempt}"):
        return
    upload = uploads_repo.get(job_id)
    if upload is None or upload["attempt"] != attempt:
        return
    totals = _totals(repo.chunks_of(job_id, attempt))
    uploads_repo.transition(
        job_id,
        to="failed",
        fields={
            "stage": "done",
            "reason": reason,
            "finished_at": _now(),
            "counts": {"total_lines": upload["total_lines"], **totals["counts"]},
            "indices": totals["indices"],
            "errors": totals["errors"],
        },
    )
    _clean_work(job_id)


def _clean_work(job_id: str) -> None:
    shutil.rmtree(default_storage.path(f"work/{job_id}"), ignore_errors=True)
    repo.chunks_delete(job_id)


# Operations on a whole upload


def job_reset_for_retry(*, upload: dict) -> int:
    """Put a finished job back to pending under a new attempt number; returns that attempt."""
    job_id, attempt = upload["job_id"], upload["attempt"] + 1
    repo.dead_letters_delete(job_id)
    repo.release_claims(job_id)
    _clean_work(job_id)
    uploads_repo.transition(
        job_id,
        to="pending",
        fields={
            "attempt": attempt,
            "stage": "queued",
            "counts": {"total_lines": upload["total_lines"], **dict.fromkeys(COUNT_NAMES, 0)},
            "indices": [],
            "errors": [],
            "reason": None,
            "started_at": None,
            "finished_at": None,
            "dispatched_at": _now(),
        },
    )
    return attempt


def upload_documents_delete(*, upload: dict) -> int:
    """Remove everything an upload left behind outside its record: documents, dead letters, files."""
    deleted = delete_file_documents(get_es(), settings.LOGS_INDEX_PREFIX, upload["file_id"])
    repo.dead_letters_delete(upload["job_id"])
    repo.release_claims(upload["job_id"])
    _clean_work(upload["job_id"])
    for name in {upload["stored_name"], upload["source_name"]}:
        default_storage.delete(name)
    return deleted


def stuck_jobs(*, now: dt.datetime) -> tuple[list[dict], list[dict]]:
    """Uploads the watchdog must act on: (pending too long, processing without progress too long)."""
    pending = uploads_repo.stale(status="pending", before=now - dt.timedelta(minutes=2), field="dispatched_at")
    limit = now - dt.timedelta(minutes=settings.LOGS_STUCK_AFTER_MINUTES)
    stuck = []
    for upload in uploads_repo.stale(status="processing", before=limit, field="started_at"):
        activity = [chunk.get("updated_at") for chunk in repo.chunks_of(upload["job_id"], upload["attempt"])]
        if max(filter(None, activity), default=upload["started_at"]) < limit:
            stuck.append(upload)
    return pending, stuck


def unfinished_chunks(upload: dict) -> list[int]:
    done = {chunk["number"] for chunk in repo.chunks_of(upload["job_id"], upload["attempt"]) if "indexed" in chunk}
    return [number for number in range(upload.get("chunks_total") or 0) if number not in done]
