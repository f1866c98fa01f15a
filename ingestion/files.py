"""Where a job's files live, on local disk or in an S3 bucket (the upload, its work files), and a stream's batches."""

import contextlib
import datetime as dt
import gzip
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from ingestion.formats import is_gzip_name
from ingestion.objects import MultipartWriter, abort_stale_uploads, delete_keys, keys_under, open_object, read_range


class MovableFile(UploadedFile):
    """A file already on disk; FileSystemStorage moves it into place instead of copying it."""

    def __init__(self, path: str, *, name: str, size: int):
        super().__init__(open(path, "rb"), name=name, size=size)  # noqa: SIM115 - closed by Django
        self.path = path

    def temporary_file_path(self) -> str:
        return self.path


class ReceivedFile(MovableFile):
    """A fully received upload: its bytes on disk, what the streaming pass learned, and its plain copy."""

    def __init__(self, *, path: str, name: str, size: int, sha256: str, plain_path: str | None):
        super().__init__(path, name=name, size=size)
        self.sha256 = sha256
        # The decompressed copy of a .gz upload (None otherwise): what the pipeline reads.
        self.plain_path = plain_path

    @property
    def readable_path(self) -> str:
        return self.plain_path or self.path

    def open_readable(self) -> IO[bytes]:
        return open(self.readable_path, "rb")

    def discard(self) -> None:
        self.close()
        for path in (self.path, self.plain_path):
            if path:
                Path(path).unlink(missing_ok=True)


class ObjectReceivedFile(UploadedFile):
    """A fully received upload already in the bucket (STORAGE=s3): its object, and what the streaming pass learned.

    Unless a job keeps it, `discard()` deletes the object (the request's guard calls it whatever happens).
    """

    def __init__(self, *, writer: MultipartWriter, name: str, size: int, sha256: str):
        super().__init__(None, name=name, size=size)
        self.writer = writer
        self.stored_name = writer.key
        self.sha256 = sha256

    def open_readable(self) -> IO[bytes]:
        """The upload's bytes by ranged reads, decompressed on the fly for a .gz (its size was bounded as it came)."""
        stored = open_stored(self.stored_name)
        return gzip.GzipFile(fileobj=stored) if is_gzip_name(self.name) else stored

    def discard(self) -> None:
        self.writer.discard()


def uses_object_storage() -> bool:
    return settings.STORAGE == "s3"


def _s3():
    """The client and bucket of django-storages' S3 backend (the default storage when STORAGE=s3)."""
    return default_storage.connection.meta.client, default_storage.bucket_name


def object_upload(file_name: str, *, now: dt.datetime) -> MultipartWriter:
    """A new upload's object, written in parts as the request brings them; its name is final (a job keeps it)."""
    name = f"{now:%Y%m%d_%H%M%S}_{uuid.uuid4().hex}_{get_valid_filename(display_name(file_name, 80))}"
    return MultipartWriter(*_s3(), name)


def incoming_dir() -> Path:
    """Where this host writes a request's temporary files: under local storage, or its own scratch dir with S3."""
    root = Path(settings.SCRATCH_DIR) if uses_object_storage() else Path(default_storage.location)
    path = root / ".incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


# Characters that change how a name reads without being part of it: controls and bidirectional overrides
# (a right-to-left override can make "gpj.exe" display as "exe.jpg").
_HIDDEN = {*range(0x20), 0x7F, 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def display_name(name: str, limit: int = 200) -> str:
    """The name a user gave, as it is shown: no folders, no hidden characters, at most `limit` long."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(char for char in base if ord(char) not in _HIDDEN).strip() or "upload"
    if len(cleaned) <= limit:
        return cleaned
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or len(extension) > 20:
        return cleaned[:limit]
    return stem[: limit - len(extension) - 1] + "." + extension


def store(received: ReceivedFile | ObjectReceivedFile, *, file_id: str, now: dt.datetime) -> str:
    """Move a received upload into storage under a safe, bounded name; returns that name.

    An upload already in the bucket is kept where it is. The decompressed copy of a .gz served the checks
    only: the pipeline inflates the stored file again.
    """
    if isinstance(received, ObjectReceivedFile):
        received.writer.kept = True
        return received.stored_name
    name = f"{now:%Y%m%d_%H%M%S}_{file_id}_{get_valid_filename(display_name(received.name, 80))}"
    stored_name = default_storage.save(name, received)
    if received.plain_path:
        Path(received.plain_path).unlink(missing_ok=True)
    return stored_name


def delete_stored(*names: str) -> None:
    for name in set(names):
        default_storage.delete(name)
        default_storage.delete(f"{name}.plain")  # left by versions that kept a decompressed copy


def open_stored(name: str) -> IO[bytes]:
    """A stored file opened for reading; with S3 every read is a ranged GET, so a worker fetches only what it reads."""
    if uses_object_storage():
        return open_object(*_s3(), name)
    return open(default_storage.path(name), "rb")


def read_stored_range(name: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of a stored file (a chunk): with S3 one ranged GET of exactly those bytes."""
    if uses_object_storage():
        return read_range(*_s3(), name, start, end)
    with open(default_storage.path(name), "rb") as stored:
        stored.seek(start)
        return stored.read(end - start)


# A job's work files (the inflated or converted source, each chunk's parsed and bulk files) live in storage under
# work/{job_id}/{attempt}/, so any worker host can take the next stage of a chunk.


def work_name(job_id: str, attempt: int, name: str) -> str:
    return f"work/{job_id}/{attempt}/{name}"


@contextlib.contextmanager
def work_writer(job_id: str, attempt: int, name: str) -> Iterator[IO[bytes]]:
    """A job's work file opened for writing; it is in storage once the block ends (with S3: in parts as written)."""
    stored = work_name(job_id, attempt, name)
    if not uses_object_storage():
        path = Path(default_storage.path(stored))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            yield out
        return
    out = MultipartWriter(*_s3(), stored)
    try:
        yield out
    except BaseException:
        out.abort()
        raise
    out.close()


def work_replace(job_id: str, attempt: int, source: str, target: str) -> None:
    """Put one work file in place of another (a rewritten chunk file)."""
    source, target = work_name(job_id, attempt, source), work_name(job_id, attempt, target)
    if not uses_object_storage():
        Path(default_storage.path(source)).replace(default_storage.path(target))
        return
    client, bucket = _s3()
    client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source})
    client.delete_object(Bucket=bucket, Key=source)


def delete_work(job_id: str) -> None:
    if not uses_object_storage():
        shutil.rmtree(default_storage.path(f"work/{job_id}"), ignore_errors=True)
        return
    client, bucket = _s3()
    delete_keys(client, bucket, [item["Key"] for item in keys_under(client, bucket, f"work/{job_id}/")])


# A stream's batches: written to a temporary file while the request is read, then stored through the storage
# API (moved into place on local disk, uploaded with S3), read back by the batch's task, deleted once processed.


def batch_temporary(suffix: str):
    """A new temporary file for a request's lines (the caller stores or removes it)."""
    return tempfile.NamedTemporaryFile(dir=incoming_dir(), suffix=suffix, delete=False)


def batch_store(path: str, *, batch_id: str, day: str) -> str:
    """Move a written batch into storage; returns its stored name."""
    with MovableFile(path, name=f"{batch_id}.ndjson", size=Path(path).stat().st_size) as batch:
        stored = default_storage.save(f"streams/{day}/{batch_id}.ndjson", batch)
    Path(path).unlink(missing_ok=True)  # uploaded, not moved, with S3
    return stored


def batch_lines(name: str) -> Iterator[bytes]:
    """A stored batch's lines, read from storage."""
    with open_stored(name) as batch:
        yield from batch


def batch_delete(name: str) -> None:
    default_storage.delete(name)


def sweep(*, older_than: dt.datetime, keep_work: set[str]) -> int:
    """Remove abandoned temporary files, work folders and (S3) incomplete uploads older than a moment; how many."""
    removed = 0
    for path in incoming_dir().glob("*"):
        if path.is_file() and dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) < older_than:
            path.unlink(missing_ok=True)
            removed += 1
    if uses_object_storage():
        return removed + _sweep_bucket(older_than=older_than, keep_work=keep_work)
    for folder in (Path(default_storage.location) / "work").glob("*"):
        if folder.name not in keep_work and dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC) < older_than:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _sweep_bucket(*, older_than: dt.datetime, keep_work: set[str]) -> int:
    """Work files of jobs no longer running, and multipart uploads a crash left incomplete."""
    client, bucket = _s3()
    stale = [
        item["Key"]
        for item in keys_under(client, bucket, "work/")
        if item["Key"].split("/")[1] not in keep_work and item["LastModified"] < older_than
    ]
    delete_keys(client, bucket, stale)
    return len(stale) + abort_stale_uploads(client, bucket, older_than=older_than)
