"""/metrics: staff or the scrape token only; a real upload and real ingest show in it; the Grafana dashboard's metrics
all exist in real scrapes of a running web process and of a running Flower."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app as celery_app
from tests.conftest import ROOT, wait_until
from tests.datafiles import ECOMMERCE_ORDERS, RECORD_COUNTS, WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload_and_wait
from tests.webserver import answers, gunicorn

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "a-scrape-token-for-the-tests-" + "t" * 20
DASHBOARDS = ROOT / "docker" / "grafana" / "dashboards"
WEB_PORT = 8119
FLOWER_PORT = 5519
FLOWER_LOGIN = "metrics:a-flower-password"
# PromQL words that are not metric names: functions, aggregations and their keywords.
PROMQL_WORDS = {"sum", "min", "max", "avg", "count", "by", "without", "rate", "increase", "irate", "histogram_quantile"}


def samples(text: str) -> list:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value_of(text: str, name: str, **labels) -> float | None:
    for sample in samples(text):
        if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
            return sample.value
    return None


def scrape(client: Client, **headers) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    return response.content.decode()


def metric_names_in(expr: str) -> set[str]:
    """The metric names an expression reads: words before `(`, `{` or `[`-less label lists and strings removed."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}", "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)
    bare = re.sub(r"\bby\s*\([^)]*\)", "", bare)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare))
    return {word for word in words if word not in PROMQL_WORDS}


def dashboard_metric_names() -> set[str]:
    names = set()
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                names |= metric_names_in(target["expr"])
    return names


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def test_an_indexed_upload_shows_its_lines_for_its_log_type_and_the_request_that_sent_it(
    celery_worker, api_client, token
):
    _data, job = upload_and_wait(api_client, ECOMMERCE_ORDERS.name, ECOMMERCE_ORDERS.read_bytes())
    assert job["counts"]["indexed"] == RECORD_COUNTS[ECOMMERCE_ORDERS]

    text = scrape(Client(), **token)

    indexed = value_of(text, "logs_lines_indexed_total", log_type="order", source="upload")
    assert indexed >= RECORD_COUNTS[ECOMMERCE_ORDERS]
    assert value_of(text, "logs_jobs", status="completed") >= 1
    assert value_of(text, "logs_job_duration_seconds_count") >= 1
    # Observed by the worker process, read back by this one through Redis.
    assert value_of(text, "logs_es_bulk_duration_seconds_count") >= 1
    assert value_of(text, "logs_celery_queue_length", queue="celery") is not None
    created = value_of(
        text,
        "django_http_responses_total_by_status_view_method_total",
        status="201",
        view="upload-create",
        method="POST",
    )
    assert created >= 1


def test_events_sent_to_the_ingest_endpoint_are_counted_by_log_type(celery_worker, api_client, token):
    before = value_of(scrape(Client(), **token), "logs_ingest_events_received_total", log_type="web_access") or 0
    body = data_lines(WEB_ACCESS_LOGS.name, 50)

    response = api_client.post(
        "/api/ingest?stream=metrics&log_type=web_access", data=body, content_type="application/x-ndjson"
    )

    assert response.status_code == 202
    after = value_of(scrape(Client(), **token), "logs_ingest_events_received_total", log_type="web_access")
    assert after == before + 50


def test_an_anonymous_scrape_is_refused(token):
    response = Client().get("/metrics")

    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Sign in as staff or send the scrape token"}
    assert b"logs_lines_indexed" not in response.content


def test_a_wrong_token_is_refused(token):
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")

    assert response.status_code == 401


def test_without_a_token_setting_no_bearer_token_is_accepted(settings):
    settings.METRICS_TOKEN = ""

    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 401


def test_a_signed_in_user_who_is_not_staff_is_refused(django_user_model, token):
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="carla", password="a-long-test-password"))

    response = client.get("/metrics")

    assert response.status_code == 403


def test_staff_read_the_metrics_with_their_session(django_user_model, token):
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="dora", password="x" * 20, is_staff=True))

    text = scrape(client)

    assert value_of(text, "logs_metrics_source_up", source="ingestion.metrics.PipelineCollector") == 1


def test_the_metric_name_reader_skips_functions_labels_and_ranges():
    expr = 'histogram_quantile(0.95, sum by (le, view) (rate(django_x_bucket{kind="webhook"}[5m]))) / max(logs_y)'

    assert metric_names_in(expr) == {"django_x_bucket", "logs_y"}


@pytest.fixture
def running_web(tmp_path):
    """A real gunicorn of the app in multiprocess mode, as services/app.sh starts it."""
    env = {"METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with gunicorn(WEB_PORT, log_name="test-metrics-web", env=env):
        yield f"http://127.0.0.1:{WEB_PORT}"


@pytest.fixture
def running_flower():
    """Flower as `make run` starts it (config.flower, its login on /metrics), on the test broker."""
    log_path = ROOT / "var" / "log" / "test-metrics-flower.log"
    command = [sys.executable, "-m", "config.flower", "--address=127.0.0.1", f"--port={FLOWER_PORT}"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, f"--basic-auth={FLOWER_LOGIN}"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: process.poll() is not None or answers(FLOWER_PORT, "/healthcheck"), attempts=300)
            assert process.poll() is None, f"Flower did not start: see {log_path}"
            yield f"http://127.0.0.1:{FLOWER_PORT}"
        finally:
            process.terminate()
            process.wait(timeout=20)


def fetch(url: str, authorization: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": authorization})  # noqa: S310 - our loopback servers
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our loopback servers
        return response.read().decode()


def names_in_scrape(text: str) -> set[str]:
    return {sample.name for sample in samples(text)}


def test_every_metric_the_dashboard_queries_is_in_a_real_scrape(celery_worker, api_client, running_web, running_flower):
    # Something to report: an upload, ingested events, and a task Flower sees run.
    upload_and_wait(api_client, WEB_ACCESS_LOGS.name, data_lines(WEB_ACCESS_LOGS.name, 100))
    ingested = api_client.post(
        "/api/ingest?stream=dashboard&log_type=web_access",
        data=data_lines(WEB_ACCESS_LOGS.name, 10),
        content_type="application/x-ndjson",
    )
    assert ingested.status_code == 202
    wanted = dashboard_metric_names()
    from_flower = {name for name in wanted if name.startswith("flower_")}
    assert from_flower and len(wanted) > len(from_flower)
    flower_login = "Basic " + b64encode(FLOWER_LOGIN.encode()).decode()

    def missing() -> set[str]:
        celery_app.send_task("config.ping")
        web = names_in_scrape(fetch(f"{running_web}/metrics", f"Bearer {TOKEN}"))
        flower = names_in_scrape(fetch(f"{running_flower}/metrics", flower_login))
        return (wanted - from_flower - web) | (from_flower - flower)

    # The web process's request metrics appear after its first requests, Flower's once it has seen a worker and a
    # task: polled, and what is still missing at the end is named in the failure.
    last = set()

    def nothing_missing() -> bool:
        nonlocal last
        last = missing()
        return not last

    try:
        wait_until(nothing_missing, attempts=60, interval=1)
    except AssertionError:
        pytest.fail(f"the dashboard queries metrics no scrape exports: {sorted(last)}")


def test_the_dashboard_is_provisioned_with_the_prometheus_data_source():
    dashboard = json.loads((DASHBOARDS / "logs-platform.json").read_text())
    datasource = (ROOT / "docker" / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()

    assert {target["datasource"]["uid"] for panel in dashboard["panels"] for target in panel["targets"]} == {
        "prometheus"
    }
    assert "uid: prometheus" in datasource and "url: http://prometheus:9090" in datasource
    assert Path(ROOT / "docker" / "grafana" / "provisioning" / "dashboards" / "logs-platform.yaml").is_file()
