"""Where a job's files live: the stored upload, its plain copy, and the job's work folder."""

import datetime as dt
import shutil
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


def store(received: ReceivedFile, *, file_id: str, now: dt.datetime) -> tuple[str, str]:
    """Move a received upload (and its plain copy) into storage; returns (stored_name, source_name)."""
    name = f"{now:%Y%m%d_%H%M%S}_{file_id}_{get_valid_filename(Path(received.name).name)}"
    stored_name = default_storage.save(name, received)
    if not received.plain_path:
        return stored_name, stored_name
    plain = MovableFile(received.plain_path, name=f"{stored_name}.plain", size=Path(received.plain_path).stat().st_size)
    return stored_name, default_storage.save(plain.name, plain)


def delete_stored(*names: str) -> None:
    for name in set(names):
        default_storage.delete(name)


def stored_path(name: str) -> str:
    return default_storage.path(name)


def work_dir(job_id: str, attempt: int) -> Path:
    path = Path(default_storage.path(f"work/{job_id}/{attempt}"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def delete_work(job_id: str) -> None:
    shutil.rmtree(default_storage.path(f"work/{job_id}"), ignore_errors=True)
