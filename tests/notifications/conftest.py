"""Fixtures for the notification tests: real receivers on loopback, and channels pointed at them."""

import pytest
from django.conf import settings

from tests.notifications.receivers import HttpReceiver, SmtpReceiver

JOB_EVENTS = ["job.completed", "job.completed_with_errors", "job.failed"]


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
