"""manage.py kibana_setup --url URL: import the logs-ecom data view, Lens charts, map and dashboard into Kibana."""

import base64
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_FILE = Path(settings.BASE_DIR) / "docker" / "kibana" / "logs-ecom.ndjson"
IMPORT_PATH = "/api/saved_objects/_import?overwrite=true"
STATUS_PATH = "/api/status"
DASHBOARD_ID = "logs-ecom-dashboard"


class KibanaResponse:
    """Status and body of one answer from Kibana (HTTP errors included: their body says what went wrong)."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def message(self) -> str:
        # Kibana's API errors are {"statusCode", "error", "message"}; fall back to the raw text.
        data = self.json()
        if isinstance(data, dict) and data.get("message"):
            return f"{data.get('error', 'error')}: {data['message']}"
        return self.body.decode("utf-8", "replace")[:500] or "(empty body)"


class Command(BaseCommand):
    help = (
        "Wait until Kibana answers GET /api/status with 200, then import the saved objects file "
        "(data view, visualizations, map, dashboard) with POST /api/saved_objects/_import?overwrite=true."
    )
    # Only Kibana is needed: no system checks, which would load every app and its settings for nothing.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=settings.KIBANA_URL, help="Kibana's address (default: KIBANA_URL)")
        parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="the saved objects (.ndjson) to import")
        parser.add_argument("--user", default=os.environ.get("KIBANA_USERNAME", ""), help="basic auth user")
        parser.add_argument("--password", default=os.environ.get("KIBANA_PASSWORD", ""), help="basic auth password")
        parser.add_argument("--wait", type=float, default=300.0, help="seconds to wait for Kibana (default 300)")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between status checks")
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed for each request")

    def handle(self, *args: Any, **options: Any) -> None:
        url: str = (options["url"] or "").rstrip("/")
        if not url:
            raise CommandError("No Kibana address: pass --url or set KIBANA_URL.")
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"Kibana's address must start with http:// or https://, not {url!r}.")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No saved objects file at {path}.")
        self.url = url
        self.timeout: float = options["timeout"]
        self.headers = {"kbn-xsrf": "true"}
        if options["user"]:
            token = base64.b64encode(f"{options['user']}:{options['password']}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

        self.wait_for_kibana(options["wait"], options["interval"])
        result = self.import_file(path)
        self.report(result, path)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> KibanaResponse:
        """One request; an HTTP error status is an answer, a connection failure raises OSError."""
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in handle()
            self.url + path, data=body, method=method, headers={**self.headers, **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return KibanaResponse(response.status, response.read())
        except urllib.error.HTTPError as error:
            return KibanaResponse(error.code, error.read())

    def wait_for_kibana(self, wait: float, interval: float) -> None:
        # Kibana answers 503 (or refuses connections) for a minute or more while it starts and migrates.
        started = time.monotonic()
        while True:
            try:
                answer = self.request("GET", STATUS_PATH)
                state = f"HTTP {answer.status}"
            except OSError as error:
                answer, state = None, f"not reachable ({getattr(error, 'reason', error)})"
            if answer is not None and answer.status == 200:
                self.stdout.write(f"Kibana at {self.url} is up.")
                return
            if answer is not None and answer.status in (401, 403):
                # Waiting cannot fix credentials.
                raise CommandError(
                    f"Kibana at {self.url} refused {STATUS_PATH} ({answer.message()}): "
                    "pass --user/--password or set KIBANA_USERNAME/KIBANA_PASSWORD."
                )
            elapsed = time.monotonic() - started
            if elapsed >= wait:
                raise CommandError(
                    f"Kibana at {self.url} did not answer {STATUS_PATH} with 200 in {wait:.0f}s: {state}."
                )
            self.stdout.write(f"Waiting for Kibana at {self.url}: {state}, {elapsed:.0f}s of {wait:.0f}s...")
            time.sleep(min(interval, max(wait - elapsed, 0)))

    def import_file(self, path: Path) -> dict:
        # The import API takes the file as a multipart upload in the field "file"; urllib has no multipart helper.
        boundary = uuid.uuid4().hex
        body = b"".join(
            [
                f"--{boundary}\r\n".encode(),
                f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'.encode(),
                b"Content-Type: application/ndjson\r\n\r\n",
                path.read_bytes(),
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        try:
            answer = self.request(
                "POST", IMPORT_PATH, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
            )
        except OSError as error:
            raise CommandError(f"Import into Kibana at {self.url} failed: {error}") from error
        result = answer.json()
        if answer.status != 200 or not isinstance(result, dict):
            raise CommandError(f"Kibana refused the import (HTTP {answer.status}): {answer.message()}")
        return result

    def report(self, result: dict, path: Path) -> None:
        for warning in result.get("warnings") or []:
            self.stderr.write(f"Kibana warning: {warning.get('message', warning)}")
        errors = result.get("errors") or []
        imported = result.get("successCount", 0)
        if errors or not result.get("success"):
            lines = [describe_error(error) for error in errors] or ["Kibana reported success: false without errors"]
            raise CommandError(
                f"Kibana imported {imported} object(s) of {path.name} and rejected {len(errors)}:\n  "
                + "\n  ".join(lines)
            )
        kinds: dict[str, int] = {}
        for item in result.get("successResults") or []:
            kinds[item.get("type", "?")] = kinds.get(item.get("type", "?"), 0) + 1
        detail = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {imported} saved object(s) into Kibana" + (f" ({detail})." if detail else ".")
            )
        )
        self.stdout.write(f"Dashboard: {self.url}/app/dashboards#/view/{DASHBOARD_ID}")


def describe_error(error: dict) -> str:
    """One line per rejected object: which object, which kind of error, and Kibana's own details."""
    title = (error.get("meta") or {}).get("title") or error.get("title") or ""
    what = f"{error.get('type', '?')} {error.get('id', '?')}" + (f' "{title}"' if title else "")
    detail = error.get("error") or {}
    kind = detail.get("type", "error")
    if kind == "missing_references":
        missing = ", ".join(f"{ref.get('type')}/{ref.get('id')}" for ref in detail.get("references") or [])
        return f"{what}: missing references {missing}"
    message = detail.get("message") or detail.get("reason") or ""
    return f"{what}: {kind}" + (f": {message}" if message else "")
