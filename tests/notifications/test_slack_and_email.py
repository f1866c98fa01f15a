"""Slack and email channels through the real worker: a Slack-like receiver and a real SMTP server on loopback."""

import pytest
from django.conf import settings

from tests.notifications.test_webhook_deliveries import finished, send_test

pytestmark = pytest.mark.django_db(transaction=True)


def test_slack_gets_text_and_blocks_with_a_link_back(celery_worker, api_client, receiver):
    channel = api_client.post(
        "/api/notifications/channels",
        {"name": "Slack #ops", "kind": "slack", "url": receiver.url + "/services/T0/B0/xyz", "events": ["job.failed"]},
        format="json",
    ).json()

    delivery = finished(api_client, send_test(api_client, channel)["id"])
    [request] = receiver.received
    message = request.json

    assert delivery["state"] == "delivered"
    assert request.path == "/services/T0/B0/xyz"
    assert "webhook-signature" not in request.headers
    assert message["text"].startswith("Test notification from Log platform")
    assert message["text"].endswith("http://testserver/notifications/")
    assert message["blocks"][0]["text"]["type"] == "mrkdwn"
    assert message["blocks"][0]["text"]["text"].startswith("*Test notification from Log platform*")
    [button] = message["blocks"][1]["elements"]
    assert button["url"] == "http://testserver/notifications/"


def test_email_arrives_as_plain_text_and_html(celery_worker, api_client, mailbox):
    channel = api_client.post(
        "/api/notifications/channels",
        {"name": "On call", "kind": "email", "email": "oncall@shop.example", "events": ["job.failed"]},
        format="json",
    ).json()

    delivery = finished(api_client, send_test(api_client, channel)["id"])
    [message] = mailbox.wait_for(1)
    plain = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()

    assert delivery["state"] == "delivered"
    assert delivery["attempt_log"][0]["response_excerpt"] == f"Accepted by 127.0.0.1:{settings.EMAIL_PORT}"
    assert message["To"] == "oncall@shop.example"
    assert message["Subject"] == "[Log platform] Test notification from Log platform"
    assert message["X-Log-Platform-Message-Id"] == delivery["message_id"]
    assert 'The channel "On call" works' in plain
    assert "Open it: http://testserver/notifications/" in plain
    assert '<a href="http://testserver/notifications/">Open it in Log platform</a>' in html
