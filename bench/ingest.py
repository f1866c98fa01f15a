"""make bench: upload and end-to-end ingest rates against the raw _bulk rate of the same Elasticsearch, then streams.

Needs the product running (`make run`). Prints figures; asserts nothing.
"""

import io
import itertools
import os
import re
import sys
import time
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


def raw_bulk_rate(path: Path, prefix: str = "bench-raw") -> float:
    """Docs/s of sending the same prebuilt documents straight to _bulk (the bound for end to end)."""
    es = get_es()
    ensure_index_templates(es, prefix)
    bodies, body, count, total = [], [], 0, 0
    with path.open("rb") as source:
        for line_number, line in enumerate(source, start=1):
            doc = build_document(orjson.loads(line), timestamp_field="timestamp", numeric={}, log_type="access")
            geoip.enrich(doc)
            body.append(encode(doc, index=daily_index(prefix, doc["@timestamp"]), file_id="bench", line=line_number))
            count += 1
            if count == 5000:
                bodies.append(b"".join(body))
                total, body, count = total + count, [], 0
    if body:
        bodies.append(b"".join(body))
        total += count
    started = time.perf_counter()
    for chunk in bodies:
        send(es, chunk)
    es.indices.refresh(index=prefix)
    rate = total / (time.perf_counter() - started)
    for name in es.indices.get_alias(index=prefix):
        es.indices.delete(index=name)
    return rate


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
    print(f"raw _bulk rate of the same 100 MB of documents: {raw_bulk_rate(big):,.0f} docs/s")
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
