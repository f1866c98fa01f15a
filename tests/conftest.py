"""Shared fixtures: a real Celery worker for the whole run, and clean test data stores."""

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command

from analytics.selectors import STAFF_LOOKING_KEY
from config.celery import app as celery_app
from config.es import get_es
from config.mongo import get_database
from ingestion.data_version import data_version_bump
from ingestion.documents import ensure_index_templates

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items):
    """Fault tests stop and kill the shared servers: they run after everything else."""
    items.sort(key=lambda item: item.get_closest_marker("faults") is not None)


class Worker:
    """The real Celery worker process of the test run, which the fault tests may kill and start again."""

    log_path = ROOT / "var" / "log" / "test-worker.log"

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def start(self, command: list[str] | None = None, env: dict | None = None) -> None:
        """Start the worker (or another worker command, e.g. a poisoned one) and wait until it answers."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = command or [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "2"]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [*command, "-n", f"test-{uuid.uuid4().hex[:6]}@%h"],
                cwd=ROOT,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches the pool children too
            )
        for _ in range(120):
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited:\n{self.log_path.read_text()[-3000:]}")
            if celery_app.control.ping(timeout=0.5):
                return
        raise RuntimeError(f"Celery worker did not answer:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real worker process on the test broker, sharing the test database."""
    Worker.log_path.write_text("")
    celery_app.control.purge()
    worker = Worker()
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def minio():
    """The run's real MinIO (services/minio.sh: built once, started if it is not up, bucket created); its client."""
    import boto3

    endpoint = os.environ["S3_ENDPOINT_URL"]
    env = {
        **os.environ,
        "MINIO_PORT": endpoint.rsplit(":", 1)[1],
        "MINIO_ROOT_USER": os.environ["S3_ACCESS_KEY"],
        "MINIO_ROOT_PASSWORD": os.environ["S3_SECRET_KEY"],
        "MINIO_BUCKET": os.environ["S3_BUCKET"],
    }
    started = subprocess.run(["bash", "services/minio.sh", "start"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert started.returncode == 0, f"MinIO did not start:\n{started.stdout}{started.stderr}"
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name="us-east-1",
    )


# The owner of the planted anomaly series (tests/analytics/planted.py), shared by the API and browser tests.
PLANTED_OWNER_ID = 900_170


@pytest.fixture(scope="session")
def planted_upload(celery_worker):
    """Fourteen days of real web access rows with planted anomalies, uploaded once through the API."""
    from tests.analytics.conftest import client_for
    from tests.analytics.planted import planted_web_logs
    from tests.helpers import upload_and_wait

    data, job = upload_and_wait(client_for(PLANTED_OWNER_ID, "keeper"), "web_access_planted.ndjson", planted_web_logs())
    assert job["counts"]["indexed"] == job["counts"]["total_lines"]
    return data


def fresh_user_id() -> int:
    """An id no earlier test used: jobs and documents outlive a test's database rows, ids must not repeat."""
    return 10**7 + uuid.uuid4().int % 10**9


def wait_until(condition, *, attempts: int = 600, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; returns that value (not a timing assertion)."""
    for _ in range(attempts):
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition still false after {attempts} attempts")


@pytest.fixture(autouse=True)
def staff_not_looking():
    """Each test starts with no staff member having opened the analytics page: one test's visit would otherwise
    make every later job warm the staff page over all the run's events."""
    cache.delete(STAFF_LOOKING_KEY)


@pytest.fixture(scope="session", autouse=True)
def clean_stores():
    """Start from empty test collections and test indices on the shared real servers."""
    database = get_database()
    for name in database.list_collection_names():
        database[name].delete_many({})
    es = get_es()
    prefix = settings.LOGS_INDEX_PREFIX
    names = [row["index"] for row in es.cat.indices(index=f"{prefix}-*", format="json")]
    for start in range(0, len(names), 50):  # index names go in the URL, which has a length limit
        es.indices.delete(index=",".join(names[start : start + 50]))
    es.options(ignore_status=404).indices.delete(index=settings.FRAUD_ALERTS_INDEX)
    call_command("ensure_indexes", stdout=io.StringIO())  # as `make run` and compose do
    ensure_index_templates(es, prefix)
    # The events changed under the cached analytics answers of an earlier run.
    data_version_bump()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(id=fresh_user_id(), username="ana", password="a-long-test-password")


@pytest.fixture
def api_client(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def other_client(django_user_model):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    other = django_user_model.objects.create_user(
        id=fresh_user_id(), username="bruno", password="another-long-password"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
    return client
