"""The API keeps its own OpenAPI contract: schemathesis, every check, against a real gunicorn over real data.

Real data comes first (a shared data file uploaded through the API, indexed by the real worker and screened
for fraud), so the generated requests reach real jobs, files, events, panels and alerts, not only 404s.
The run is the schemathesis CLI in a subprocess: its report names each failure with a curl line to replay it.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django_celery_results.models import TaskResult
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from analytics.fraud.models import FraudAlert
from analytics.panels import PANELS
from notifications.models import Delivery
from tests.conftest import fresh_user_id, wait_until
from tests.datafiles import FRAUD_TRANSACTIONS, WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload_and_wait, worker_is_idle
from tests.notifications.receivers import HttpReceiver

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "var" / "log" / "test-contract-web.log"
REPORT = ROOT / "var" / "log" / "test-contract-schemathesis.txt"
# Bounded and repeatable: deterministic mode derandomizes Hypothesis (the same examples every run, so no
# seed to pass), and each operation gets at most this many generated cases per phase.
MAX_EXAMPLES = 15
GUNICORN = [sys.executable, "-m", "gunicorn", "config.wsgi", "--timeout", "120"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def server():
    """A real gunicorn of the app (test settings) on a free port; its base URL."""
    port = free_port()
    # The run sends about a thousand requests a minute from one user: the throttle is tested elsewhere.
    # GET /api/live is fuzzed like the rest (its schema describes each event): its streams end after a second
    # here, so each request reads a whole stream instead of waiting out schemathesis's read timeout.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "API_THROTTLE_RATE": "100000/minute",
        "LIVE_STREAM_SECONDS": "1",
    }
    with LOG.open("w") as log:
        process = subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: process.poll() is not None or listening(port), attempts=300)
            assert process.poll() is None, f"gunicorn did not start: see {LOG}"
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture
def owner():
    """A saved user with an API token (gunicorn authenticates against the shared test database)."""
    user = get_user_model().objects.create_user(id=fresh_user_id(), username="contract")
    client = APIClient()
    token = Token.objects.create(user=user).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    client.user, client.token = user, token
    return client


@pytest.fixture
def receiver():
    """Where every channel of the run points: nothing the run makes the worker send leaves loopback."""
    server = HttpReceiver().start()
    yield server
    server.stop()


def notification_ids(owner, receiver: HttpReceiver) -> dict:
    """Two webhook channels (one spare to delete) and a delivered test event, for the notification operations."""
    channels = [
        owner.post(
            "/api/notifications/channels",
            {"name": name, "kind": "webhook", "url": f"{receiver.url}/hook", "events": ["job.failed", "fraud.alert"]},
            format="json",
        ).json()["id"]
        for name in ("contract hook", "spare hook")
    ]
    delivery = owner.post(f"/api/notifications/channels/{channels[0]}/test").json()["id"]
    wait_until(lambda: Delivery.objects.filter(pk=delivery, state="delivered").exists())
    # Two alert rules over the labelled transactions (one spare to delete).
    rules = [
        owner.post(
            "/api/alerts/rules",
            {"name": name, "type": "frequency", "query": {"q": "shopping_net"}, "window": "1h", "threshold": 5},
            format="json",
        ).json()["id"]
        for name in ("contract rule", "spare rule")
    ]
    return {
        "channel_ids": channels[:1],
        "delete_channel_id": channels[1],
        "delivery_ids": [delivery],
        "rule_ids": rules[:1],
        "delete_rule_id": rules[1],
    }


@pytest.fixture
def known_ids(celery_worker, owner, receiver) -> dict:
    """Real path parameters: the labelled transactions indexed and screened; two spare uploads to retry and delete."""
    data, _job = upload_and_wait(owner, FRAUD_TRANSACTIONS.name, FRAUD_TRANSACTIONS.read_bytes())
    wait_until(
        lambda: TaskResult.objects.filter(
            task_name="analytics.fraud_scan_finished_job", task_args__contains=data["job_id"], status="SUCCESS"
        ).exists()
    )
    streamed = owner.post(
        "/api/ingest?stream=contract", data=data_lines(WEB_ACCESS_LOGS.name, 20), content_type="application/x-ndjson"
    )
    assert streamed.status_code == 202, streamed.content
    to_retry, _ = upload_and_wait(owner, "to-retry.csv", data_lines(FRAUD_TRANSACTIONS.name, 20))
    to_delete, _ = upload_and_wait(owner, "to-delete.csv", data_lines(FRAUD_TRANSACTIONS.name, 20))
    hits = owner.get("/api/search", {"job_id": data["job_id"], "page_size": 5}).json()["results"]
    alerts = FraudAlert.objects.filter(owner_id=owner.user.pk).values_list("id", flat=True)[:5]
    assert len(hits) == 5 and alerts, "the labelled file gave no events or no alerts to reach"
    return {
        "job_id": data["job_id"],
        "file_id": data["file_id"],
        "doc_ids": [hit["id"] for hit in hits],
        "alert_ids": list(alerts),
        "retry_job_id": to_retry["job_id"],
        "delete_file_id": to_delete["file_id"],
        "stream_id": streamed.json()["stream_id"],
        "receiver_url": receiver.url,
        "staff_token": staff_token(),
        **notification_ids(owner, receiver),
    }


def staff_token() -> str:
    """A staff member's token, for the operations only staff may use (the retention default and audit)."""
    chief = get_user_model().objects.create_user(id=fresh_user_id(), username="contract-chief", is_staff=True)
    return Token.objects.create(user=chief).key


def run_config(ids: dict) -> str:
    """schemathesis.toml: real values for the path parameters and the filters, and the spares for what destroys.

    TOML strings and lists read like JSON ones, hence json.dumps for the values.
    """
    value = json.dumps
    return f"""
[dictionaries]
panels.values = {value(sorted(PANELS))}
alerts.values = {value(ids["alert_ids"])}
events.values = {value(ids["doc_ids"])}
times.values = ["now-30d", "now/d", "2022-11-01", "2023-01-15T00:00:00Z", "2023-02-01T10:00:00+01:00"]
words.values = ["Stockton", "shopping_net", "\\"Opera/9.84\\"", "fraud_* -US", "customer | card"]
channels.values = {value(ids["channel_ids"])}
deliveries.values = {value(ids["delivery_ids"])}
rules.values = {value(ids["rule_ids"])}

# Mostly real values, so the run reaches real panels, alerts, events and queries; now and then a generated
# one (a non-integer or huge alert id must still be a JSON 404).
[parameters]
"path.job_id" = {value(ids["job_id"])}
"path.file_id" = {value(ids["file_id"])}
"path.stream_id" = {value(ids["stream_id"])}
"path.panel" = {{ dictionary = "panels", probability = 0.9 }}
"path.alert_id" = {{ dictionary = "alerts", probability = 0.9 }}
"path.doc_id" = {{ dictionary = "events", probability = 0.9 }}
"query.from" = {{ dictionary = "times", probability = 0.5 }}
"query.to" = {{ dictionary = "times", probability = 0.5 }}
"query.q" = {{ dictionary = "words", probability = 0.5 }}
"path.channel_id" = {{ dictionary = "channels", probability = 0.9 }}
"path.delivery_id" = {{ dictionary = "deliveries", probability = 0.9 }}
"query.channel" = {{ dictionary = "channels", probability = 0.9 }}
"path.rule_id" = {{ dictionary = "rules", probability = 0.9 }}
"query.rule" = {{ dictionary = "rules", probability = 0.9 }}
# Every channel the run creates or changes points at the test's own receiver on loopback (the worker sends its
# tests and events there), and email channels at an address of the tests' SMTP port.
"body.url" = {value(ids["receiver_url"] + "/hook")}
"body.email" = "oncall@shop.example"

# Retrying or deleting the labelled file would pull its events from under the rest of the run: spares instead.
[[operations]]
include-path = "/api/logs/jobs/{{job_id}}/retry"
parameters = {{ "path.job_id" = {value(ids["retry_job_id"])} }}

[[operations]]
include-path = "/api/logs/uploads/{{file_id}}"
include-method = "DELETE"
parameters = {{ "path.file_id" = {value(ids["delete_file_id"])} }}

# Each accepted scan request queues a scan: of the small spare job, not of all 1,611 labelled events each time.
[[operations]]
include-path = "/api/fraud/scan"
parameters = {{ "body.job_id" = {value(ids["retry_job_id"])} }}

# Deleting the channel the run reaches would leave the rest of it only 404s: a spare instead.
[[operations]]
include-path = "/api/notifications/channels/{{channel_id}}"
include-method = "DELETE"
parameters = {{ "path.channel_id" = {value(ids["delete_channel_id"])} }}

[[operations]]
include-path = "/api/alerts/rules/{{rule_id}}"
include-method = "DELETE"
parameters = {{ "path.rule_id" = {value(ids["delete_rule_id"])} }}

# Only staff set the default retention policy and read the audit: as a staff member, so the run reaches them.
[[operations]]
include-path = ["/api/retention/default", "/api/retention/runs"]
headers = {{ Authorization = {value("Token " + ids["staff_token"])} }}

# A schema-valid request these operations may still refuse with their documented 400 that says why, because
# JSON Schema cannot state the rule: what makes a log file (a known extension, a timestamp field); the query
# syntax (q), ISO 8601 or date math (from, to), a field name (sort, field), a time zone (tz), a live position
# this API gave out (cursor, Last-Event-ID), a field of the events (an anomaly series' or by's) and a number
# of buckets (interval over from-to); a dismissal needs a note.
[[operations]]
include-path = [
    "/api/logs/upload",
    "/api/search",
    "/api/search/export",
    "/api/analytics/{{panel}}",
    "/api/live",
    "/api/anomalies",
]
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 403, 404, 413, 429]

# The ingest endpoints take any bytes (JSON Schema cannot say "NDJSON lines" or "_bulk action and document
# pairs"): generated bytes are lines that are not events, which /api/ingest answers 202 with them rejected, or 400
# when no line is left; _bulk answers Elasticsearch's 400 for a broken action line, as Elasticsearch does. The
# schema's examples send real events, which are accepted.
[[operations]]
include-path = ["/api/ingest", "/api/ingest/es/_bulk", "/api/ingest/es/{{index}}/_bulk"]
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 413, 429]

[[operations]]
include-path = "/api/fraud/alerts/{{alert_id}}/status"
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 403, 404, 409, 429]

# A channel's needs depend on its kind (a URL for webhook and Slack, an address for email), headers may not
# replace the platform's own, only staff share; sending a test or resending needs an enabled channel, and a
# delivery still being sent cannot be resent yet (409).
[[operations]]
include-path = [
    "/api/notifications/channels",
    "/api/notifications/channels/{{channel_id}}",
    "/api/notifications/channels/{{channel_id}}/test",
    "/api/notifications/channels/{{channel_id}}/rotate-secret",
    "/api/notifications/deliveries/{{delivery_id}}/resend",
]
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 403, 404, 409, 429]

# A rule's settings depend on its type (a field for new_term and metric, a ratio for spike), a duration is text
# ("5m") whose bounds the schema cannot state, its channels must be the user's own and hear rule.fired, and a
# preview may not judge more than a week of one-minute windows.
[[operations]]
include-path = ["/api/alerts/rules", "/api/alerts/rules/{{rule_id}}", "/api/alerts/rules/{{rule_id}}/preview"]
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 403, 404, 429]
"""


def test_the_api_keeps_its_openapi_contract(server, owner, known_ids, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(run_config(known_ids))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{server}/api/schema/",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        # DRF refuses a NUL character in any text field with a 400 that says so; the schema does not repeat it
        # for each field.
        "--generation-allow-x00",
        "false",
        "--workers",
        "2",
        # Speed is the benchmark's business: a slow answer on a loaded machine is not a contract failure (with no
        # --max-response-time, schemathesis 4 checks no response time).
        "--request-timeout",
        "120",
        "--header",
        f"Authorization: Token {owner.token}",
        "--no-color",
    ]

    # The hooks module lets schemathesis send NDJSON bodies (tests/config/contract_hooks.py).
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.config.contract_hooks", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    REPORT.write_text(run.stdout + run.stderr)
    # The scans and the retry the run queued finish before the test's rows are flushed from under them.
    wait_until(worker_is_idle, attempts=600, interval=0.5)
    assert run.returncode == 0, f"schemathesis found contract failures (report: {REPORT}):\n{run.stdout[-20000:]}"
