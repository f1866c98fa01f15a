"""Standard Webhooks signing, checked with the spec's own library; rotation keeps the old secret for 24 hours."""

import base64
import datetime as dt
import time
from types import SimpleNamespace

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from notifications.kinds.webhook import secrets_in_force, signed_headers
from notifications.signing import secret_new, signature, signature_header

BODY = b'{"type":"job.completed","timestamp":"2026-12-03T08:00:00Z","data":{"job_id":"5f1c","counts":{"indexed":1611}}}'
ROTATED_AT = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


def headers_for(secrets: list[str], *, message_id: str = "msg_2b7e", timestamp: int | None = None) -> dict:
    timestamp = timestamp or int(time.time())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            secrets_in_force=secrets, message_id=message_id, timestamp=timestamp, body=BODY
        ),
    }


def a_channel(**fields) -> SimpleNamespace:
    """A webhook channel's signing fields (pure logic: no database needed)."""
    values = {"secret": secret_new(), "previous_secret": "", "previous_secret_expires_at": None, "headers": {}}
    return SimpleNamespace(**{**values, **fields})


def test_a_secret_is_whsec_and_24_to_32_random_bytes():
    secret = secret_new()
    key = base64.b64decode(secret.removeprefix("whsec_"))

    assert secret.startswith("whsec_")
    assert 24 <= len(key) <= 32
    assert secret_new() != secret


def test_the_spec_library_verifies_our_signature():
    secret = secret_new()

    assert Webhook(secret).verify(BODY, headers_for([secret]))["data"]["counts"]["indexed"] == 1611


def test_the_spec_library_refuses_a_changed_body_or_another_secret():
    secret = secret_new()
    headers = headers_for([secret])

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"1611", b"1612"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_new()).verify(BODY, headers)


def test_the_signature_is_v1_and_the_hmac_of_id_timestamp_and_body():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()

    value = signature(secret=secret, message_id="msg_1", timestamp=1764748800, body=b"{}")

    assert value == Webhook(secret).sign("msg_1", dt.datetime.fromtimestamp(1764748800, dt.UTC), "{}")


def test_after_a_rotation_both_secrets_verify():
    old, new = secret_new(), secret_new()
    channel = a_channel(secret=new, previous_secret=old, previous_secret_expires_at=ROTATED_AT + dt.timedelta(hours=24))

    in_force = secrets_in_force(channel, ROTATED_AT + dt.timedelta(hours=23, minutes=59))
    headers = headers_for(in_force)

    assert in_force == [new, old]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(BODY, headers)
    assert Webhook(old).verify(BODY, headers)


def test_the_previous_secret_stops_signing_after_24_hours():
    old, new = secret_new(), secret_new()
    channel = a_channel(secret=new, previous_secret=old, previous_secret_expires_at=ROTATED_AT + dt.timedelta(hours=24))

    in_force = secrets_in_force(channel, ROTATED_AT + dt.timedelta(hours=24, seconds=1))

    assert in_force == [new]
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, headers_for(in_force))


def test_signed_headers_carry_the_delivery_id_and_the_attempt_time():
    channel = a_channel(headers={"X-Team": "ops"})
    delivery = SimpleNamespace(message_id="msg_5d0f", body=BODY.decode())
    now = dt.datetime.now(dt.UTC)

    headers = signed_headers(channel, delivery, now)

    assert headers["webhook-id"] == "msg_5d0f"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["X-Team"] == "ops"
    assert Webhook(channel.secret).verify(BODY, headers)
