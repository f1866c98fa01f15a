"""Where a job's files live (the stored upload, its plain copy, the job's work folder), and a stream's batches."""

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename


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

    def discard(self) -> None:
        self.close()
        for path in (self.path, self.plain_path):
            if path:
                Path(path).unlink(missing_ok=True)


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


def store(received: ReceivedFile, *, file_id: str, now: dt.datetime) -> str:
    """Move a received upload into storage under a safe, bounded name; returns that name.

    The decompressed copy of a .gz served the checks only: the pipeline inflates the stored file again.
    """
    name = f"{now:%Y%m%d_%H%M%S}_{file_id}_{get_valid_filename(display_name(received.name, 80))}"
    stored_name = default_storage.save(name, received)
    if received.plain_path:
        Path(received.plain_path).unlink(missing_ok=True)
    return stored_name


def delete_stored(*names: str) -> None:
    for name in set(names):
        default_storage.delete(name)
        default_storage.delete(f"{name}.plain")  # left by versions that kept a decompressed copy


def stored_path(name: str) -> str:
    return default_storage.path(name)


def work_dir(job_id: str, attempt: int) -> Path:
    path = Path(default_storage.path(f"work/{job_id}/{attempt}"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def delete_work(job_id: str) -> None:
    shutil.rmtree(default_storage.path(f"work/{job_id}"), ignore_errors=True)


# A stream's batches: written to a temporary file while the request is read, then stored through the storage
# API (moved into place on local disk), read back by the batch's task, deleted once processed.


def batch_temporary(suffix: str):
    """A new temporary file for a request's lines (the caller stores or removes it)."""
    incoming = Path(default_storage.path(".incoming"))
    incoming.mkdir(parents=True, exist_ok=True)
    return tempfile.NamedTemporaryFile(dir=incoming, suffix=suffix, delete=False)


def batch_store(path: str, *, batch_id: str, day: str) -> str:
    """Move a written batch into storage; returns its stored name."""
    with MovableFile(path, name=f"{batch_id}.ndjson", size=Path(path).stat().st_size) as batch:
        return default_storage.save(f"streams/{day}/{batch_id}.ndjson", batch)


def batch_lines(name: str) -> Iterator[bytes]:
    """A stored batch's lines, read from storage."""
    with default_storage.open(name, "rb") as batch:
        yield from batch


def batch_delete(name: str) -> None:
    default_storage.delete(name)


def sweep(*, older_than: dt.datetime, keep_work: set[str]) -> int:
    """Remove abandoned upload temp files and work folders older than a moment; returns how many."""
    removed = 0
    root = Path(default_storage.location)
    for path in (root / ".incoming").glob("*"):
        if path.is_file() and dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) < older_than:
            path.unlink(missing_ok=True)
            removed += 1
    for folder in (root / "work").glob("*"):
        if folder.name not in keep_work and dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC) < older_than:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
