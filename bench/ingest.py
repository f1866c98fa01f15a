"""make bench: upload and end-to-end ingest rates beside the raw _bulk rate of the same Elasticsearch (plain and
tuned), then streams.

Needs the product running (`make run`). Prints figures; asserts nothing.
"""

import io
import itertools
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import orjson  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench import stream_ingest  # noqa: E402
from config.es import get_es  # noqa: E402
from ingestion import geoip  # noqa: E402
from ingestion.bulk import encode, send  # noqa: E402
from ingestion.documents import daily_index, ensure_index_templates  # noqa: E402
from ingestion.records import build_document  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BENCH = ROOT / "var" / "bench"
TARGET_BYTES = 100 * 2**20 - 2**16  # just under the default upload limit


def generate(path: Path) -> None:
    """A ~100 MB NDJSON made of the real web access log, repeated until the size is reached."""
    lines = (DATA / "web_access_logs.ndjson").read_bytes().splitlines(keepends=True)
    with path.open("wb") as out:
        written = 0
        for line in itertools.cycle(lines):
            if written + len(line) > TARGET_BYTES:
                return
            out.write(line)
            written += len(line)


def worker_peak_rss_mb() -> float:
    """Highest peak RSS (VmHWM) among the Celery worker process and its pool children."""
    main = int((ROOT / "var" / "run" / "worker.pid").read_text())
    pids = [main, *map(int, Path(f"/proc/{main}/task/{main}/children").read_text().split())]
    peaks = []
    for pid in pids:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                peaks.append(int(row.split()[1]) / 1024)
    return max(peaks)


# The tuned bound tries each bulk size with each number of concurrent senders and keeps the best.
BULK_SIZES = (1_000, 5_000, 10_000)
SENDERS = (1, 2, 4)


def prebuilt(path: Path, prefix: str) -> list[tuple[str, bytes]]:
    """(daily index, action and source lines) of each document of the file, built as the pipeline builds them."""
    rows = []
    with path.open("rb") as source:
        for line_number, line in enumerate(source, start=1):
            doc = build_document(orjson.loads(line), timestamp_field="timestamp", numeric={}, log_type="access")
            geoip.enrich(doc)
            index = daily_index(prefix, doc["@timestamp"])
            rows.append((index, encode(doc, index=index, file_id="bench", line=line_number)))
    return rows


def timed_load(rows: list[tuple[str, bytes]], prefix: str, *, size: int, senders: int, tuned: bool) -> float:
    """Docs/s of sending the documents to _bulk in bodies of `size` from `senders` threads, until searchable.

    Tuned: the daily indices are created first (inside the timing) with refresh off and no replicas during the
    load, as Elasticsearch's own advice for bulk loads says; refreshed once at the end."""
    es = get_es().options(request_timeout=600)
    ensure_index_templates(es, prefix)
    bodies = [b"".join(body for _, body in rows[start : start + size]) for start in range(0, len(rows), size)]
    started = time.perf_counter()
    if tuned:
        for name in sorted({index for index, _ in rows}):
            es.indices.create(index=name, settings={"refresh_interval": "-1", "number_of_replicas": 0})
    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(lambda body: send(es, body), bodies))
    es.indices.refresh(index=prefix)
    rate = len(rows) / (time.perf_counter() - started)
    for name in es.indices.get_alias(index=prefix):
        es.indices.delete(index=name)
    return rate


def raw_bulk_rates(path: Path) -> tuple[float, float, str]:
    """The plain bound (bodies of 5,000, one sender, the indices as the pipeline makes them) and the tuned one
    (the best of every bulk size and sender count), with the tuned one's settings."""
    rows = prebuilt(path, "bench-raw")
    plain = timed_load(rows, "bench-raw", size=5_000, senders=1, tuned=False)
    tried = {
        f"{size:,} docs a request, {senders} sender(s)": timed_load(
            rows, "bench-raw", size=size, senders=senders, tuned=True
        )
        for size in BULK_SIZES
        for senders in SENDERS
    }
    best = max(tried, key=tried.__getitem__)
    return plain, tried[best], best


def main() -> None:
    BENCH.mkdir(parents=True, exist_ok=True)
    token = os.environ["LOGS_API_TOKEN"]
    big = BENCH / "web_access_100mb.ndjson"
    if not big.exists():
        generate(big)
    largest = max((DATA / name for name in os.listdir(DATA) if name.endswith((".ndjson", ".csv"))), key=os.path.getsize)
    for path in (largest, big):
        print(f"\n=== {path.name} ({path.stat().st_size / 2**20:.1f} MB)")
        file_rate = upload_rate(path, token)
    print(f"\nworker peak RSS: {worker_peak_rss_mb():.0f} MB")
    plain, tuned, how = raw_bulk_rates(big)
    print(f"end to end, 100 MB file:            {file_rate:>8,.0f} events/s")
    print(f"raw _bulk of the same documents:    {plain:>8,.0f} docs/s  (ours: {file_rate / plain:.2f}x)")
    print(f"raw _bulk tuned ({how}): {tuned:,.0f} docs/s  (ours: {file_rate / tuned:.2f}x; target 0.8x)")
    api_url = os.environ.get("LOGS_API_URL", "http://127.0.0.1:8000")
    stream_ingest.main(data=DATA, api_url=api_url, token=token, file_rate=file_rate)


def upload_rate(path: Path, token: str) -> float:
    """Uploads the file and follows its job (upload_file's report is printed); its end-to-end events/s."""
    report = io.StringIO()
    call_command("upload_file", str(path), token=token, stdout=report)
    print(report.getvalue(), end="")
    return float(re.search(r"speed +([\d,]+) events/s", report.getvalue()).group(1).replace(",", ""))


if __name__ == "__main__":
    main()
