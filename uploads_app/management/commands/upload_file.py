"""manage.py upload_file PATH: upload a log file through the REST API and follow its job to the end."""

import http.client
import json
import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from config.es import get_es
from ingestion.enums import FINISHED

PIECE = 1 << 20


def _bar(done: float, total: float, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _tenth(done: float, total: float) -> int:
    """Which tenth of the way `done` is (10 when finished): a log file gets one line per tenth."""
    return int(10 * done / total) if total else 10


class ProgressLine:
    """A progress line redrawn in place on a terminal; elsewhere (a log file, a pipe) one line per new step."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out
        self.terminal = out.isatty()
        self.step: object = None

    def show(self, text: str, *, step: object) -> None:
        if self.terminal:
            self.out.write("\r" + text, ending="")
            self.out.flush()
        elif step != self.step:
            self.out.write(text)
        self.step = step

    def end(self) -> None:
        if self.terminal:
            self.out.write("")  # leave the finished frame on its own line


class Command(BaseCommand):
    help = "Upload a CSV/JSON/NDJSON file to the logs API with a progress bar, then follow the job."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--url", default=os.environ.get("LOGS_API_URL", "http://127.0.0.1:8000"))
        parser.add_argument("--token", default=os.environ.get("LOGS_API_TOKEN"))

    def handle(self, *args, path: str, url: str, token: str | None, **options):
        if not token:
            raise CommandError(
                "An API token is needed: --token KEY or LOGS_API_TOKEN (manage.py create_api_token USER)"
            )
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        started = time.perf_counter()
        status, body = self._upload(url, token, file)
        if status != 201:
            raise CommandError(f"Upload refused ({status}): {body.get('error', body)}")
        seconds = time.perf_counter() - started
        data = body["data"]
        size_mb = file.stat().st_size / 2**20
        self.stdout.write(
            f"uploaded {data['filename']}: {data['total_lines']} lines, {size_mb:.1f} MB in {seconds:.1f} s "
            f"({size_mb / seconds:.1f} MB/s); job {data['job_id']}"
        )
        job = self._follow(url, token, data["status_url"])
        elapsed = time.perf_counter() - started
        self.stdout.write(f"status   {job['status']}" + (f" ({job['reason']})" if job.get("reason") else ""))
        self.stdout.write(f"counts   {json.dumps(job['counts'])}")
        self.stdout.write(f"indices  {', '.join(job['indices'][:5])}{' ...' if len(job['indices']) > 5 else ''}")
        self.stdout.write(
            f"speed    {job['counts']['indexed'] / elapsed:,.0f} events/s from upload start to searchable"
        )
        for error in job["errors"][:3]:
            self.stdout.write(f"error    line {error['line']}: {error['reason']}")
        sample = get_es().search(
            index=settings.LOGS_INDEX_PREFIX, query={"term": {"file_id": data["file_id"]}}, size=1, sort=["line"]
        )["hits"]["hits"]
        if sample:
            self.stdout.write("sample enriched document:\n" + json.dumps(sample[0]["_source"], indent=2)[:3000])

    def _connection(self, url: str) -> http.client.HTTPConnection:
        parts = urlsplit(url)
        factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        return factory(parts.hostname, parts.port, timeout=600)

    def _upload(self, url: str, token: str, file: Path) -> tuple[int, dict]:
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = file.stat().st_size
        progress = ProgressLine(self.stdout)

        def body():
            yield head
            sent = 0
            with file.open("rb") as source:
                while piece := source.read(PIECE):
                    sent += len(piece)
                    progress.show(
                        f"upload   {_bar(sent, size)} {sent / 2**20:8.1f} / {size / 2**20:.1f} MB",
                        step=_tenth(sent, size),
                    )
                    yield piece
            progress.end()
            yield tail

        connection = self._connection(url)
        connection.request(
            "POST",
            "/api/logs/upload",
            body=body(),
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + size + len(tail)),
            },
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def _follow(self, url: str, token: str, status_url: str) -> dict:
        connection = self._connection(url)
        progress = ProgressLine(self.stdout)
        while True:
            connection.request("GET", status_url, headers={"Authorization": f"Token {token}"})
            job = json.loads(connection.getresponse().read())
            counts = job["counts"]
            progress.show(
                f"job      {_bar(job['progress'], 100)} {job['progress']:5.1f}% {job['status']:<12} "
                f"indexed {counts['indexed']:>9,}  dead {counts['dead_lettered']:>6,}  fb {counts['fallback']:>6,}",
                step=(job["status"], _tenth(job["progress"], 100)),
            )
            if job["status"] in FINISHED:
                progress.end()
                return job
            time.sleep(0.5)
