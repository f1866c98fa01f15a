"""Peak memory of the web and the worker processes for one large upload, whatever the storage (README figures).

Run by hand with the servers up (and, for STORAGE=s3, MinIO and the S3_* settings in the environment):
    var/venv/bin/python bench/storage_memory.py --mb 1024 --port 8118
It starts its own gunicorn (one process) and Celery worker with the environment it is given, uploads a
generated NDJSON file through `manage.py upload_file` (streamed, followed to the end of the job) and prints each
side's resident memory at the start and at its peak. Prints figures; asserts nothing.
"""

import argparse
import itertools
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATA = ROOT.parent / "shared" / "data"


def generate(path: Path, size: int) -> None:
    """The real web access log, repeated until `size` bytes."""
    lines = (DATA / "web_access_logs.ndjson").read_bytes().splitlines(keepends=True)
    written = 0
    with path.open("wb") as out:
        for line in itertools.cycle(lines):
            if written + len(line) > size:
                return
            out.write(line)
            written += len(line)


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            rows = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(row.split()[1]) for row in rows if row.startswith("VmRSS:"))
    return total / 1024


class Peak(threading.Thread):
    """Samples a process tree's memory four times a second until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.start_mb, self.peak_mb, self.done = pid, tree_rss_mb(pid), 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))


def manage(*args: str, env: dict) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def wait_for_web(port: int) -> None:
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--port", type=int, default=8118)
    options = parser.parse_args()
    bench = ROOT / "var" / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    source = bench / f"memory-{options.mb}mb.ndjson"
    if not source.exists() or source.stat().st_size < (options.mb - 1) * 2**20:
        generate(source, options.mb * 2**20)
    env = {**os.environ, "LOGS_MAX_UPLOAD_MB": str(options.mb + 16)}
    manage("migrate", "--noinput", "-v", "0", env=env)
    token = manage("create_api_token", "memory-bench", env=env).strip().split()[-1]
    web = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{options.port}", "--workers", "1",
         "--threads", "4", "--timeout", "1200", "--keep-alive", "0"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "config", "worker", "--concurrency", "2", "-n", "memory-bench@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_web(options.port)
        time.sleep(5)  # the worker's pool is forked and idle
        peaks = {"web (gunicorn)": Peak(web.pid), "worker (celery)": Peak(worker.pid)}
        for peak in peaks.values():
            peak.start()
        subprocess.run(
            [PYTHON, "manage.py", "upload_file", str(source), "--url", f"http://127.0.0.1:{options.port}"],
            cwd=ROOT, env={**env, "LOGS_API_TOKEN": token}, check=True,
        )  # fmt: skip
        print(f"storage {os.environ.get('STORAGE', 'local')}, file {source.stat().st_size / 2**20:,.0f} MB")
        for name, peak in peaks.items():
            peak.done.set()
            peak.join()
            print(f"{name:16} start {peak.start_mb:6.0f} MB  peak {peak.peak_mb:6.0f} MB  "
                  f"growth {peak.peak_mb - peak.start_mb:5.0f} MB")  # fmt: skip
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
