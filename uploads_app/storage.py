"""Upload handlers: the upload API streams its file straight to storage; every other URL refuses file parts unread.

Django hands each multipart chunk to StreamingUploadHandler; nothing holds the whole file in memory. On local
disk the file is written to a temporary file that the job then moves into place; with STORAGE=s3 it goes to
the bucket in parts as it arrives (an S3 multipart upload), and a refusal aborts that upload.
Only the upload API installs it, once the user is signed in, allowed and within the rate
(uploads_app/apis.py); everywhere else the global handler, RefuseFilesHandler, stops at a file part's
first byte, so no anonymous request can fill the disk or make the server inflate a gzip.
An upload that breaks a rule is refused mid-stream: its bytes are deleted and an UploadRefused error
(an ApplicationError) ends the parsing, so the API answers with its JSON error and status.
"""

import datetime as dt
import hashlib
import tempfile
import zlib
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http.multipartparser import MultiPartParserError

from config.errors import ApplicationError
from ingestion import files
from ingestion.files import ObjectReceivedFile, ReceivedFile
from ingestion.formats import FormatError, check_extension, is_gzip_name
from ingestion.objects import MultipartWriter

GZIP_WINDOW = 16 + zlib.MAX_WBITS
PIECE = 1 << 20


class UploadRefused(ApplicationError):
    """The streamed file broke a rule (extension, size, gzip); nothing of it is kept."""


class Gunzip:
    """Decompress a gzip stream piece by piece into a file, refusing it past `limit` bytes."""

    def __init__(self, destination, limit: int):
        self.destination = destination
        self.limit = limit
        self.size = 0
        self._inflater = zlib.decompressobj(GZIP_WINDOW)

    def feed(self, data: bytes) -> None:
        while True:
            # max_length bounds the memory one piece may expand to (a bomb inflates ~1000x).
            piece = self._inflater.decompress(data, PIECE)
            self._write(piece)
            if self._inflater.eof:  # concatenated gzip members are one file
                data = self._inflater.unused_data
                if not data:
                    return
                self._inflater = zlib.decompressobj(GZIP_WINDOW)
                continue
            data = self._inflater.unconsumed_tail
            # A full piece may leave more output inside zlib even when all input was taken.
            if not data and len(piece) < PIECE:
                return

    def finish(self) -> None:
        self._write(self._inflater.flush())
        if not self._inflater.eof and self.size:
            raise ValueError("The gzip file is truncated")

    def _write(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self.limit:
            raise ValueError(f"Decompressed size exceeds {settings.LOGS_MAX_DECOMPRESSED_MB} MB limit")
        self.destination.write(piece)


class FilesNotAccepted(MultiPartParserError):
    """A file part sent to a URL that takes none; Django answers 400 (DRF: its JSON parse error)."""


class RefuseFilesHandler(FileUploadHandler):
    """The global upload handler: a file part ends the parsing before any of its bytes is read."""

    def new_file(self, *args, **kwargs):
        raise FilesNotAccepted("Files are accepted only by the upload API (POST /api/logs/upload)")


class Uncounted:
    """Where a .gz's inflated bytes go when only their size matters (the bucket keeps the file as sent)."""

    def write(self, data: bytes) -> None:
        pass


class StreamingUploadHandler(FileUploadHandler):
    chunk_size = PIECE

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.raw = self.plain = self.gunzip = None
        self.hash = hashlib.sha256()
        self.received = 0
        try:
            check_extension(file_name)
        except FormatError as error:
            self._refuse(error.message)
        limit = settings.LOGS_MAX_DECOMPRESSED_MB * 2**20
        if files.uses_object_storage():
            self.raw = files.object_upload(file_name, now=dt.datetime.now(dt.UTC))
            # UploadGuardMiddleware aborts or deletes it unless a job kept it (any refusal path).
            self.request.incoming_uploads = [*getattr(self.request, "incoming_uploads", []), self.raw]
            if is_gzip_name(file_name):
                self.gunzip = Gunzip(Uncounted(), limit)
            raise StopFutureHandlers()
        self.raw = self._temporary(".upload")
        if is_gzip_name(file_name):
            self.plain = self._temporary(".plain")
            self.gunzip = Gunzip(self.plain, limit)
        raise StopFutureHandlers()

    def _temporary(self, suffix: str):
        handle = tempfile.NamedTemporaryFile(dir=files.incoming_dir(), suffix=suffix, delete=False)  # noqa: SIM115
        # UploadGuardMiddleware removes whatever of these the request did not store (any refusal path).
        self.request.incoming_paths = [*getattr(self.request, "incoming_paths", []), handle.name]
        return handle

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > settings.LOGS_MAX_UPLOAD_MB * 2**20:
            self._refuse(f"File size exceeds {settings.LOGS_MAX_UPLOAD_MB} MB limit", status_code=413)
        self.hash.update(raw_data)
        self.raw.write(raw_data)
        if self.gunzip:
            try:
                self.gunzip.feed(raw_data)
            except (zlib.error, ValueError) as error:
                self._refuse(_gzip_message(error))

    def file_complete(self, file_size: int) -> ReceivedFile | ObjectReceivedFile:
        if self.gunzip:
            try:
                self.gunzip.finish()
            except (zlib.error, ValueError) as error:
                self._refuse(_gzip_message(error))
        self._close()
        if isinstance(self.raw, MultipartWriter):
            return ObjectReceivedFile(
                writer=self.raw, name=self.file_name, size=file_size, sha256=self.hash.hexdigest()
            )
        return ReceivedFile(
            path=self.raw.name,
            name=self.file_name,
            size=file_size,
            sha256=self.hash.hexdigest(),
            plain_path=self.plain.name if self.plain else None,
        )

    def upload_interrupted(self) -> None:
        self._discard()

    def _refuse(self, message: str, status_code: int = 400):
        self._discard()
        raise UploadRefused(message, status_code)

    def _close(self) -> None:
        for handle in (self.raw, self.plain):
            if handle:
                handle.close()

    def _discard(self) -> None:
        if isinstance(self.raw, MultipartWriter):
            self.raw.discard()
            return
        self._close()
        for handle in (self.raw, self.plain):
            if handle:
                Path(handle.name).unlink(missing_ok=True)


def _gzip_message(error: Exception) -> str:
    return str(error) if isinstance(error, ValueError) else "The file is not valid gzip"
