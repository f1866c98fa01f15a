"""Fixtures for the notification tests: real receivers on loopback, and channels pointed at them."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import fresh_user_id
from tests.helpers import upload_and_wait
from tests.notifications.planted import timeline_now
from tests.notifications.receivers import HttpReceiver, SmtpReceiver

JOB_EVENTS = ["job.completed", "job.completed_with_errors", "job.failed"]
# The user who uploads the planted events of the alert rule tests.
PLANTER_ID = fresh_user_id()


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server():
    server = SmtpReceiver(settings.EMAIL_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server):
    """The test run's SMTP server, emptied for this test."""
    smtp_server.messages.clear()
    return smtp_server


def webhook_channel(client, receiver: HttpReceiver, *, events=None, path: str = "/hook", **fields) -> dict:
    """A webhook channel created through the API, its receiver told the secret from the create answer."""
    response = client.post(
        "/api/notifications/channels",
        {"name": "Ops hook", "kind": "webhook", "url": receiver.url + path, "events": events or JOB_EVENTS, **fields},
        format="json",
    )
    assert response.status_code == 201, response.json()
    channel = response.json()
    receiver.secrets.append(channel["secret"])
    return channel


def planter_client() -> APIClient:
    """The planting user's API client; its rows are made again for each test (the database is emptied between)."""
    user, _ = get_user_model().objects.get_or_create(id=PLANTER_ID, defaults={"username": "pia"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture(scope="session")
def planted(celery_worker, django_db_blocker) -> dict:
    """The planted web access log and orders (tests/notifications/planted.py), uploaded once for the run."""
    timeline = timeline_now()
    with django_db_blocker.unblock():
        client = planter_client()
        web, web_job = upload_and_wait(client, "web_access.ndjson", b"".join(timeline.web))
        orders, orders_job = upload_and_wait(client, "orders.ndjson", b"".join(timeline.orders))
    assert web_job["counts"]["indexed"] == len(timeline.web)
    assert orders_job["counts"]["indexed"] == len(timeline.orders)
    return {"timeline": timeline, "web_job": web["job_id"], "orders_job": orders["job_id"]}


@pytest.fixture
def ana(planted) -> APIClient:
    """The planting user, with the planted events."""
    return planter_client()
