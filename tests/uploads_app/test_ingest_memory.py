"""A real gunicorn's memory while shippers send 10 MB bodies: read piece by piece, so it stays flat."""

import base64
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from tests.conftest import fresh_user_id
from tests.datafiles import WEB_ACCESS_LOGS
from tests.webserver import gunicorn, worker_pids

pytestmark = pytest.mark.django_db(transaction=True)

# Real access-log lines, just under the 10 MB limit.
BODY = WEB_ACCESS_LOGS.read_bytes()[: 10 * 2**20 - 4096].rpartition(b"\n")[0] + b"\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker_rss_mb(server: subprocess.Popen) -> float:
    total = 0
    for pid in worker_pids(server):
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                total += int(row.split()[1])
    return total / 1024


def send(port: int, path: str, key: str, body: bytes) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"shipper:{key}".encode()).decode())
    request.add_header("Content-Type", "application/x-ndjson")
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - our loopback server
        response.read()
        return response.status


def as_bulk(lines: bytes) -> bytes:
    """The same lines as _bulk pairs; cut back under 10 MB (the action lines add to them)."""
    pairs = b"".join(b'{"index": {"_index": "memory"}}\n' + line + b"\n" for line in lines.splitlines())
    return pairs[: 10 * 2**20 - 4096].rpartition(b'{"index"')[0]


def test_the_web_process_memory_stays_flat_over_many_10_mb_bodies(celery_worker, django_user_model):
    user = django_user_model.objects.create_user(id=fresh_user_id(), username="memory-shipper")
    key = Token.objects.create(user=user).key
    port = free_port()
    bulk = as_bulk(BODY)
    with gunicorn(port, log_name="test-ingest-memory") as server:
        assert send(port, "/api/ingest?stream=memory", key, BODY) == 202
        assert send(port, "/api/ingest/es/_bulk", key, bulk) == 200
        settled = worker_rss_mb(server)

        statuses = set()
        for _ in range(10):
            statuses |= {
                send(port, "/api/ingest?stream=memory", key, BODY),
                send(port, "/api/ingest/es/_bulk", key, bulk),
            }

        growth = worker_rss_mb(server) - settled
    assert statuses == {200, 202}
    assert len(BODY) > 9 * 2**20 and len(bulk) > 9 * 2**20
    # Twenty more bodies of over 9 MB each (about 190 MB) leave the process about as big as after the first two:
    # what grows is each of its 4 threads' allocator arena reaching one request's peak once, not what was sent.
    assert growth < 30, f"the web worker grew by {growth:.1f} MB"
