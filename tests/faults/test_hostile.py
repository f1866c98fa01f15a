"""Hostile input against a real gunicorn running the app: huge and lying bodies, bombs, names, long records.

The server is a gunicorn of the app (test settings, keep-alive off as in production) started here, so
memory, threads and disk are those of a real web process.
"""

import gzip
import socket
import subprocess
import time
import uuid
from pathlib import Path

import orjson
import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from tests.conftest import fresh_user_id, wait_until
from tests.faults.figures import record
from tests.helpers import count_documents, data_lines
from tests.webserver import answers, gunicorn, worker_pids

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
PORT = 8123
GIB = 2**30
INCOMING = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / ".incoming"


@pytest.fixture(scope="module")
def server():
    env = {"LOGS_UPLOAD_IDLE_SECONDS": "3", "LOGS_MAX_DECOMPRESSED_MB": "200"}
    with gunicorn(PORT, log_name="test-hostile-web", env=env) as process:
        yield process


def _answers(path: str) -> bool:
    return answers(PORT, path)


@pytest.fixture
def token(django_user_model) -> str:
    user = django_user_model.objects.create_user(id=fresh_user_id(), username=f"hostile-{uuid.uuid4().hex[:6]}")
    return Token.objects.create(user=user).key


def worker_rss_mb(server: subprocess.Popen) -> float:
    """Resident memory of gunicorn's worker process(es), in MB."""
    total = 0
    for pid in worker_pids(server):
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                total += int(row.split()[1])
    return total / 1024


def head(token: str, filename: str, length: int | None, extra: str = "") -> tuple[bytes, bytes]:
    boundary = uuid.uuid4().hex
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    lines = [
        "POST /api/logs/upload HTTP/1.1",
        f"Host: 127.0.0.1:{PORT}",
        f"Authorization: Token {token}",
        f"Content-Type: multipart/form-data; boundary={boundary}",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), part


def send_and_read(token: str, *, declared: int | None, send: int, newlines: bool, extra: str = "") -> bytes:
    """Send a body of `send` bytes announcing `declared`; stop as soon as the server answers or hangs up."""
    request, part = head(token, "huge.ndjson", declared, extra)
    piece = (b'{"timestamp": "2024-05-01T10:00:00Z"}\n' if newlines else b"x") * 1
    block = (piece * (2**20 // len(piece) + 1))[: 2**20]
    sent = 0
    with socket.create_connection(("127.0.0.1", PORT), timeout=20) as connection:
        connection.sendall(request + part)
        connection.setblocking(False)
        answer = b""
        while sent < send:
            try:
                answer += connection.recv(65536)
            except BlockingIOError:
                pass
            except OSError:
                break
            if answer:
                break
            try:
                sent += connection.send(block[: min(len(block), send - sent)])
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                break
        connection.setblocking(True)
        connection.settimeout(20)
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


@pytest.mark.parametrize(
    ("case", "declared", "send", "newlines", "expected"),
    [
        ("2 GiB, honest length, no newlines", 2 * GIB, 2 * GIB, False, 413),
        ("2 GiB, honest length, with newlines", 2 * GIB, 2 * GIB, True, 413),
        ("10 GiB announced, 125 MB sent", 10 * GIB, 125 * 2**20, True, 413),
        ("1 MB announced, 2 GiB sent", 2**20, 2 * GIB, False, 400),
        ("no length (chunked), 2 GiB", None, 2 * GIB, True, 411),
        ("50 MB announced, 1 MB sent then silence", 50 * 2**20, 2**20, True, 408),
    ],
)
def test_an_oversized_or_lying_body_is_refused_without_reading_holding_or_keeping_it(
    server, token, case, declared, send, newlines, expected
):
    before = worker_rss_mb(server)
    started = time.monotonic()
    extra = "Transfer-Encoding: chunked" if declared is None else ""

    answer = send_and_read(token, declared=declared, send=send, newlines=newlines, extra=extra)
    seconds = time.monotonic() - started
    growth = worker_rss_mb(server) - before

    assert status_of(answer) == expected, answer[:300]
    assert b'"success":false' in answer.replace(b" ", b"")
    assert growth < 50
    assert _answers("/accounts/login/")  # no thread is left holding the request
    assert list(INCOMING.glob("*")) == []
    record(f"hostile body: {case}", status=expected, rss_growth_mb=round(growth, 1), seconds=round(seconds, 1))


def upload_file(token: str, filename: str, content: bytes) -> tuple[int, dict]:
    request, part = head(token, filename, None)
    boundary = part.split(b"\r\n", 1)[0][2:]
    body = part + content + b"\r\n--" + boundary + b"--\r\n"
    request = request.replace(b"\r\n\r\n", f"\r\nContent-Length: {len(body)}\r\n\r\n".encode(), 1)
    with socket.create_connection(("127.0.0.1", PORT), timeout=120) as connection:
        connection.sendall(request + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return status_of(answer), orjson.loads(answer.split(b"\r\n\r\n", 1)[1] or b"{}")


def test_a_gzip_bomb_and_a_newline_bomb_are_refused(server, token):
    bomb = gzip.compress(b"{}\n" * (90 * 2**20))  # about 270 MB once inflated, over the 200 MB limit
    newlines = gzip.compress(b'{"timestamp": "2024-05-01T10:00:00Z"}\n' + b"\n" * (150 * 2**20))

    bomb_status, bomb_body = upload_file(token, "bomb.ndjson.gz", bomb)
    lines_status, lines_body = upload_file(token, "newlines.ndjson.gz", newlines)

    assert (bomb_status, bomb_body["error"]) == (400, "Decompressed size exceeds 200 MB limit")
    assert lines_status == 400
    assert lines_body["error"] == "The file has 157,286,401 lines; an upload may have at most 5,000,000"
    assert list(INCOMING.glob("*")) == []
    record("gzip bomb; newline-bomb .gz (157 M lines)", status=400, files_left=0)


@pytest.mark.parametrize(
    ("filename", "content", "error"),
    [
        ("x.csv.php", b"timestamp,a\n2024-05-01,1\n", "File extension '.php' not allowed"),
        ("setup.exe", b"MZ\x90\x00", "File extension '.exe' not allowed"),
        (
            "picture.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
            "File is not text (binary content): save a spreadsheet as CSV, or export the logs as NDJSON (one JSON "
            "object per line)",
        ),
    ],
)
def test_dangerous_names_and_disguised_content_are_refused(server, token, filename, content, error):
    status, body = upload_file(token, filename, content)

    assert (status, body["error"]) == (400, error)


def test_odd_names_are_kept_safe_and_long_first_records_are_accepted(server, token, celery_worker):
    hostile_name = "../" * 20 + "\u202eevil" + "x" * 230 + ".csv"
    rows = b"timestamp,note\n2024-05-01T10:00:00Z,fine\n"
    long_record = orjson.dumps({"timestamp": "2024-05-01T10:00:00Z", "blob": "y" * (10 * 2**20)}) + b"\n"

    null_status, null_body = upload_file(token, "x.php%00.csv", rows)
    long_status, long_body = upload_file(token, hostile_name, rows)
    big_status, big_body = upload_file(
        token, "big_first_record.ndjson", long_record + data_lines("web_access_logs.ndjson", 3)
    )

    assert null_status == 201
    assert "\x00" not in null_body["data"]["filename"] and null_body["data"]["filename"].endswith(".csv")
    assert long_status == 201
    shown = long_body["data"]["filename"]
    assert len(shown) <= 200 and shown.endswith(".csv")
    assert "/" not in shown and "\u202e" not in shown and ".." not in shown
    assert big_status == 201
    assert big_body["data"]["total_lines"] == 4
    wait_until(lambda: count_documents(big_body["data"]["file_id"]) == 4, attempts=600)
    record("x.php%00.csv; 300-char RTLO ../ name; 10 MB first record", outcome="stored safely; record indexed")
