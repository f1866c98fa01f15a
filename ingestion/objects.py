"""S3 operations Django's storage API lacks: writing an object in parts as it arrives, ranged reads, stale uploads.

Only ingestion/files.py uses this module, with the client and bucket of django-storages' S3 backend.
"""

import datetime as dt
import io
from collections.abc import Iterator

# S3 takes at most 10,000 parts of at least 5 MB (but the last): 8 MB parts carry objects up to 80 GB.
PART_BYTES = 8 * 2**20
# One ranged GET per read of the buffered reader: the memory a reader holds, whatever the object's size.
READ_BYTES = 8 * 2**20


class MultipartWriter:
    """A write-only file whose bytes go to one object in parts of PART_BYTES, held in memory one part at a time.

    `close()` completes the object; `abort()` (or `discard()` after completion) leaves nothing behind, unless
    the object was marked `kept` (a job holds it). Not an io class on purpose: those close (here: complete)
    themselves when collected, and an abandoned upload must never become an object.
    """

    def __init__(self, client, bucket: str, key: str):
        self.client, self.bucket, self.key = client, bucket, key
        self.upload_id: str | None = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        self.parts: list[dict] = []
        self.buffer = bytearray()
        self.completed = False
        self.kept = False

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= PART_BYTES:
            self._send_part()
        return len(data)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def _send_part(self) -> None:
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=bytes(self.buffer)
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer.clear()

    def close(self) -> None:
        if self.upload_id is None:
            return
        if self.buffer or not self.parts:  # an empty object is one empty part
            self._send_part()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )
        self.upload_id, self.completed = None, True

    def abort(self) -> None:
        """Drop the parts sent so far; the object never appears."""
        if self.upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            self.upload_id = None
        self.buffer.clear()

    def discard(self) -> None:
        """Nothing of this upload stays: the parts are dropped, or the completed object deleted (unless kept)."""
        if self.kept:
            return
        if self.completed:
            self.client.delete_object(Bucket=self.bucket, Key=self.key)
            self.completed = False
        self.abort()


class RangedObject(io.RawIOBase):
    """A read-only, seekable view of one object: each read is one ranged GET of the bytes asked for."""

    def __init__(self, client, bucket: str, key: str):
        super().__init__()
        self.client, self.bucket, self.key = client, bucket, key
        self.size = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        end = min(self.position + len(buffer), self.size)
        if end <= self.position:
            return 0
        answer = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-{end - 1}")
        read = 0
        with answer["Body"] as body:
            view = memoryview(buffer)
            while self.position + read < end:
                piece = body.read(end - self.position - read)
                if not piece:
                    break
                view[read : read + len(piece)] = piece
                read += len(piece)
        self.position += read
        return read


def open_object(client, bucket: str, key: str) -> io.BufferedReader:
    return io.BufferedReader(RangedObject(client, bucket, key), buffer_size=READ_BYTES)


def read_range(client, bucket: str, key: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of an object: one ranged GET (a buffered reader would round it up to its buffer)."""
    if end <= start:
        return b""
    with client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"] as body:
        return body.read()


def keys_under(client, bucket: str, prefix: str) -> Iterator[dict]:
    """Every object under a prefix, with its Key and LastModified."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def delete_keys(client, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def abort_stale_uploads(client, bucket: str, *, older_than: dt.datetime) -> int:
    """Abort the incomplete multipart uploads started before a moment (a crash mid-upload); returns how many."""
    aborted = 0
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            if upload["Initiated"] < older_than:
                client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                aborted += 1
    return aborted
