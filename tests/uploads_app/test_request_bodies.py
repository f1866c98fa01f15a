"""Request bodies anywhere but the upload API: no file part is read, a large body is refused unread.

The disk test runs a real gunicorn of the app with upload and temporary folders of its own, so what the
web process writes is measured two ways: the bytes its worker wrote to storage (/proc/<pid>/io, exact)
and the peak size of those folders while the request runs.
"""

import contextlib
import random
import shutil
import socket
import threading
import time
import uuid
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.datafiles import WEB_ACCESS_LOGS
from tests.webserver import ROOT, gunicorn, worker_pids

PORT = 8124
MB = 2**20


@pytest.fixture(scope="module")
def folders():
    base = ROOT / "var" / "test" / f"bodies-{uuid.uuid4().hex[:8]}"
    paths = {"uploads": base / "uploads", "tmp": base / "tmp"}
    for path in paths.values():
        path.mkdir(parents=True)
    yield paths
    shutil.rmtree(base)


@pytest.fixture(scope="module")
def server(folders):
    env = {"UPLOADS_DIR": str(folders["uploads"]), "TMPDIR": str(folders["tmp"])}
    with gunicorn(PORT, log_name="test-anonymous-bodies-web", env=env) as process:
        yield process


@pytest.fixture(scope="module")
def gzip_part() -> bytes:
    """About 1 MB of gzip: real access-log lines of a quiet site (ten distinct lines in random order)."""
    with WEB_ACCESS_LOGS.open("rb") as source:
        lines = [source.readline() for _ in range(10)]
    rng = random.Random(13)
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    pieces: list[bytes] = []
    while sum(map(len, pieces)) < MB:
        pieces.append(compressor.compress(b"".join(rng.choices(lines, k=5000))))
    return b"".join(pieces) + compressor.flush()


def multipart(parts: int, content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = b""
    for number in range(parts):
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="access-{number}.ndjson.gz"\r\n'
                "Content-Type: application/gzip\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    return boundary, body + f"--{boundary}--\r\n".encode()


def post(path: str, boundary: str, body: bytes) -> int:
    """POST the body with a made-up CSRF cookie; stop sending as soon as the server answers or hangs up."""
    head = "\r\n".join(
        [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{PORT}",
            f"Content-Type: multipart/form-data; boundary={boundary}",
            f"Content-Length: {len(body)}",
            f"Cookie: csrftoken={uuid.uuid4().hex}",
        ]
    ).encode()
    answer, sent = b"", 0
    with socket.create_connection(("127.0.0.1", PORT), timeout=120) as connection:
        connection.sendall(head + b"\r\n\r\n")
        connection.setblocking(False)
        while sent < len(body) and not answer:
            try:
                answer += connection.recv(65536)
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                sent += connection.send(body[sent : sent + 65536])
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                break
        connection.setblocking(True)
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except OSError:
            pass
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def written_bytes(server) -> int:
    """Bytes gunicorn's worker has caused to be written to storage since it started (files deleted since included)."""
    total = 0
    for pid in worker_pids(server):
        for row in Path(f"/proc/{pid}/io").read_text().splitlines():
            if row.startswith("write_bytes:"):
                total += int(row.split()[1])
    return total


class PeakSize:
    """The largest total size of the files under some folders, sampled every few milliseconds."""

    def __init__(self, folders) -> None:
        self.folders = folders
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _size(self) -> int:
        total = 0
        for folder in self.folders:
            for path in folder.rglob("*"):
                with contextlib.suppress(FileNotFoundError):  # deleted between listing and stat
                    total += path.stat().st_size if path.is_file() else 0
        return total

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._size())
            self._stop.wait(0.005)

    def __enter__(self) -> "PeakSize":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
@pytest.mark.parametrize(("parts", "expected"), [(5, {400, 403}), (12, {413})])
def test_an_anonymous_post_of_gzip_parts_is_refused_without_writing_to_disk(
    server, folders, gzip_part, path, parts, expected
):
    boundary, body = multipart(parts, gzip_part)
    written_before = written_bytes(server)

    with PeakSize(folders.values()) as disk:
        status = post(path, boundary, body)
    written = written_bytes(server) - written_before

    figures = (
        f"{parts} parts, {len(body) / MB:.1f} MB sent: {written / MB:.1f} MB written, peak {disk.peak / MB:.1f} MB"
    )
    print(f"{path}: answered {status}; {figures}")
    assert status in expected, figures
    assert written < 10 * MB, figures
    assert disk.peak < 10 * MB, figures


def test_a_file_part_sent_to_a_page_is_refused_even_with_a_valid_csrf_token(client):
    response = client.post(
        "/accounts/login/",
        {"username": "ana", "password": "whatever", "file": SimpleUploadedFile("access.ndjson", b"{}\n")},
    )

    assert response.status_code == 400
    assert "This address takes no files" in response.content.decode()


@pytest.mark.django_db
def test_a_body_over_the_form_limit_is_refused_before_it_is_read(client, api_client):
    body = b"x" * (12 * MB)

    page = client.post("/accounts/login/", body, content_type="application/octet-stream")
    api = api_client.post("/api/logs/jobs/x/retry", body, content_type="application/octet-stream")

    sentence = "Request body exceeds 11 MB limit; files are uploaded with POST /api/logs/upload"
    assert (page.status_code, page["Content-Type"], page.content.decode()) == (
        413,
        "text/plain; charset=utf-8",
        sentence,
    )
    assert (api.status_code, api.json()) == (413, {"success": False, "error": sentence})
