"""Upload writes: accept a streamed file, retry a job, delete an upload."""

import datetime as dt
import itertools
import uuid
from dataclasses import replace
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename
from rest_framework import status

from config.errors import ApplicationError
from ingestion import services as ingestion
from ingestion.chunking import count_records
from ingestion.formats import FileFormat, FormatError, check_extension, detect_format, is_gzip_name
from ingestion.parsers import csv as csv_parser
from ingestion.parsers import json_array, ndjson
from ingestion.tasks import dispatch_job
from ingestion.timestamps import TIMESTAMP_FIELD_NAMES, find_timestamp_field
from uploads_app import repository as uploads_repo
from uploads_app.storage import IncomingFile, MovableFile

HEAD_BYTES = 1 << 20
PREVIEW_RECORDS = 10


def _head(path: str) -> bytes:
    with open(path, "rb") as stream:
        return stream.read(HEAD_BYTES)


def _first_rows(path: str, fmt: FileFormat, limit: int) -> list:
    """Up to `limit` rows from the start of the file, parsed as the pipeline will parse them."""
    if fmt.kind == "json_array":
        with open(path, "rb") as stream:
            return list(itertools.islice(json_array.iter_elements(stream, fmt.encoding), limit))
    head = _head(path)
    if len(head) == HEAD_BYTES:
        head = head[: head.rfind(b"\n") + 1]  # whole lines only
    if fmt.kind == "csv":
        rows = csv_parser.parse_chunk(head, fmt, 1, skip_header=True)
    else:
        rows = ndjson.parse_chunk(head, fmt.encoding, 1)
    return list(itertools.islice(rows, limit))


def _preview(path: str, fmt: FileFormat) -> list[dict]:
    """The first parsed records; a file whose first rows all fail is refused with the first reason."""
    rows = [row for row in _first_rows(path, fmt, 100) if row[1] is not None or row[2] is not None]
    records = [record for _line, record, _error, _raw in rows if record is not None]
    if not rows:
        raise FormatError("File is empty")
    if not records:
        line, _record, error, _raw = rows[0]
        raise FormatError(f"Line {line}: {error}", line=line)
    return records[:PREVIEW_RECORDS]


def _file_type(filename: str) -> str:
    name = filename.lower()
    inner = Path(name[:-3] if is_gzip_name(name) else name).suffix.lstrip(".")
    return f"{inner}.gz" if is_gzip_name(name) else inner


def _stored_name(filename: str, file_id: str, now: dt.datetime) -> str:
    return f"{now:%Y%m%d_%H%M%S}_{file_id}_{get_valid_filename(Path(filename).name)}"


def upload_create(*, user: AbstractBaseUser, incoming: IncomingFile, filename: str, log_type: str = "") -> dict:
    """Check the received file, store it, record the upload and queue its job."""
    plain_path = incoming.plain_path or incoming.path
    try:
        check_extension(filename)
        if incoming.size == 0:
            raise FormatError("File is empty")
        # The pipeline reads the decompressed copy of a .gz, so the format describes that copy.
        fmt = replace(detect_format(filename, _head(plain_path)), compressed=False)
        preview = _preview(plain_path, fmt)
        timestamp_field = find_timestamp_field(list(dict.fromkeys(name for record in preview for name in record)))
        if timestamp_field is None:
            expected = ", ".join(TIMESTAMP_FIELD_NAMES[:8])
            raise FormatError(f"No timestamp field found (expected one of: {expected}, ...)")
        total_lines = count_records(plain_path, fmt)
    except FormatError as error:
        incoming.discard()
        raise ApplicationError(error.message) from error

    now = dt.datetime.now(dt.UTC)
    file_id, job_id = uuid.uuid4().hex, uuid.uuid4().hex
    stored_name = default_storage.save(_stored_name(filename, file_id, now), incoming)
    source_name = stored_name
    if incoming.plain_path:
        plain = MovableFile(
            incoming.plain_path, name=f"{stored_name}.plain", size=Path(incoming.plain_path).stat().st_size
        )
        source_name = default_storage.save(plain.name, plain)
    upload = {
        "_id": job_id,
        "job_id": job_id,
        "file_id": file_id,
        "owner_id": user.pk,
        "filename": filename,
        "file_type": _file_type(filename),
        "file_size": incoming.size,
        "sha256": incoming.sha256,
        "stored_name": stored_name,
        "source_name": source_name,
        "format": fmt.to_dict(),
        "total_lines": total_lines,
        "preview": preview,
        "preview_lines": len(preview),
        "timestamp_field": timestamp_field,
        "log_type": log_type,
        "status": "pending",
        "stage": "queued",
        "attempt": 1,
        "counts": {"total_lines": total_lines, **dict.fromkeys(ingestion.COUNT_NAMES, 0)},
        "indices": [],
        "errors": [],
        "stages": {},
        "created_at": now,
        "dispatched_at": now,
        "started_at": None,
        "finished_at": None,
    }
    try:
        uploads_repo.insert(upload)
    except ApplicationError:
        for name in {stored_name, source_name}:
            default_storage.delete(name)  # no orphan file when the record cannot be written
        raise
    dispatch_job(job_id, 1)
    return upload


def job_retry(*, upload: dict) -> dict:
    """Run a finished job again; deterministic document ids make it idempotent."""
    if upload["status"] not in uploads_repo.FINISHED:
        raise ApplicationError(
            f"Job is {upload['status']}; only a finished job can be retried", status.HTTP_409_CONFLICT
        )
    attempt = ingestion.job_reset_for_retry(upload=upload)
    dispatch_job(upload["job_id"], attempt)
    return uploads_repo.get(upload["job_id"])


def upload_delete(*, upload: dict) -> int:
    """Delete an upload: its file, its documents, its dead letters and its record."""
    if upload["status"] == "processing":
        raise ApplicationError("Job is still processing; delete it when it has finished", status.HTTP_409_CONFLICT)
    deleted = ingestion.upload_documents_delete(upload=upload)
    uploads_repo.delete(upload["job_id"])
    return deleted
