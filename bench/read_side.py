"""make bench (read side): search and analytics latency at 16 concurrent clients over 1,000,000+ events,
the analytics and dashboard pages as one staff user sees them (cold and warm), and a 1,000,000-row export.

Needs the product running (`make run`: its worker indexes the uploads) and the ingest bench's 100 MB
file. The events are uploaded through the real API (ten copies of the 100 MB file, about 1.06 M events)
unless the bench user already has a million. Load goes to a second gunicorn of the same code on port
BENCH_READ_PORT (8001), started here with the per-user API throttle lifted (the one on port 8000 would
answer 429 long before 16 clients finish). Prints figures; asserts nothing.

A page is "cold" when nothing of it is cached: the events' data version is changed (as a finished job
does) and Elasticsearch's request and query caches are cleared before each such request.
"""

import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import orjson  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from config.es import get_es  # noqa: E402
from ingestion.data_version import data_version_bump  # noqa: E402
from ingestion.documents import events_alias  # noqa: E402

BENCH = ROOT / "var" / "bench"
BIG = BENCH / "web_access_100mb.ndjson"
TARGET_EVENTS = 1_000_000
CLIENTS = 16
REQUESTS_PER_CLIENT = 25
LOAD_PORT = int(os.environ.get("BENCH_READ_PORT", "8001"))
LOAD_URL = f"http://127.0.0.1:{LOAD_PORT}"
PAGES = ["/analytics/", "/dashboard/"]
PAGE_REQUESTS = {"cold": 10, "warm": 20}
DASHBOARD_REQUESTS = 40
SEARCHES = [
    "/api/search?q=firefox",
    "/api/search?q=%22opensearch-1.0.0.deb%22",
    "/api/search?status=404&page_size=50",
    "/api/search?country=US&sort=-bytes",
    "/api/search?q=success%20-info&from=2018-08-01&to=2018-08-15",
    "/api/search?log_type=access&extension=css",
]
PANELS = [
    "/api/analytics/summary",
    "/api/analytics/timeline",
    "/api/analytics/top?field=geo.country_iso_code",
    "/api/analytics/top?field=url",
    "/api/analytics/geo",
    "/api/analytics/status",
    "/api/analytics/heatmap",
    "/api/analytics/categories",
]


def get(url: str, token: str, timeout: float = 600) -> bytes:
    # No header at all without a token: an empty `Token ` header is refused (401), even by the health check.
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def events_of(token: str) -> int:
    return orjson.loads(get(f"{LOAD_URL}/api/search?page_size=1", token))["total"]["value"]


def fill(token: str) -> None:
    """Upload copies of the 100 MB file through the API until the user owns a million events."""
    while (count := events_of(token)) < TARGET_EVENTS:
        print(f"  {count:,} events so far; uploading another 100 MB copy")
        call_command("upload_file", str(BIG), token=token, url=LOAD_URL)


def start_load_server() -> subprocess.Popen:
    env = {**os.environ, "API_THROTTLE_RATE": "1000000/minute"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{LOAD_PORT}",
            "--workers",
            "2",
            "--threads",
            "8",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(120):
        try:
            get(f"{LOAD_URL}/api/health", "", timeout=5)
            return server
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"the load server did not start on port {LOAD_PORT}")


def latencies(paths: list[str], token: str) -> list[float]:
    """16 clients, each cycling through the paths; returns every request's latency in ms."""
    results: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        mine = []
        for number in range(REQUESTS_PER_CLIENT):
            path = paths[(offset + number) % len(paths)]
            started = time.perf_counter()
            get(LOAD_URL + path, token)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(offset,)) for offset in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report(name: str, values: list[float]) -> float:
    """Prints the request count, p50 and p95; returns the p95."""
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"{name:<22} {len(values):>4} requests  p50 {statistics.median(ordered):7.0f} ms  p95 {p95:7.0f} ms")
    return p95


def timed(call: Callable[[], object], count: int) -> list[float]:
    """Milliseconds of each of `count` calls, one at a time."""
    values = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        values.append((time.perf_counter() - started) * 1000)
    return values


def dashboard_beside_raw(token: str) -> None:
    """The dashboard API at one client beside its one Elasticsearch query (the token owner's documents per daily
    index), sent raw."""
    ours = report("/api/dashboard", timed(lambda: get(LOAD_URL + "/api/dashboard", token), DASHBOARD_REQUESTS))
    owner = Token.objects.get(key=token).user_id
    body = {
        "size": 0,
        "query": {"term": {"owner": str(owner)}},
        "aggs": {"indices": {"terms": {"field": "_index", "size": 1000}}},
    }
    raw = report(
        "  raw ES aggregation", timed(lambda: get_es().search(index=events_alias(), **body), DASHBOARD_REQUESTS)
    )
    print(f"  dashboard p95 {ours / raw:.2f}x its raw query (target 1.25x, and 200 ms)")


def staff_session() -> str:
    """A signed-in session cookie of a staff user (the pages are for people, not tokens)."""
    user, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def page_time(path: str, session: str, *, cold: bool) -> float:
    if cold:
        data_version_bump()
        get_es().indices.clear_cache(index=events_alias())
    request = urllib.request.Request(LOAD_URL + path, headers={"Cookie": f"sessionid={session}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def page_timings(session: str) -> None:
    """Each page, one client, one request at a time: cold (nothing cached), then warm."""
    for path in PAGES:
        for kind, count in PAGE_REQUESTS.items():
            report(f"{path} {kind}", [page_time(path, session, cold=kind == "cold") for _ in range(count)])


def export_time(token: str) -> None:
    started = time.perf_counter()
    request = urllib.request.Request(
        f"{LOAD_URL}/api/search/export?format=ndjson", headers={"Authorization": f"Token {token}"}
    )
    rows = size = 0
    with urllib.request.urlopen(request, timeout=3600) as response:
        while block := response.read(1 << 20):
            rows += block.count(b"\n")
            size += len(block)
    seconds = time.perf_counter() - started
    print(
        f"export     {rows:,} rows, {size / 2**20:,.0f} MB of NDJSON in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)"
    )


def main() -> None:
    token = os.environ["LOGS_API_TOKEN"]
    if not BIG.exists():
        raise SystemExit("run the ingest bench first (it generates var/bench/web_access_100mb.ndjson)")
    server = start_load_server()
    try:
        fill(token)
        print(f"\n=== read side over {events_of(token):,} events, {CLIENTS} concurrent clients")
        report("search", latencies(SEARCHES, token))
        report("analytics", latencies(PANELS, token))
        print(f"\n=== pages for one staff user, one request at a time over {events_of(token):,}+ events")
        page_timings(staff_session())
        dashboard_beside_raw(token)
        export_time(token)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
