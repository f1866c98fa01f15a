"""Webhook channels: the delivery's JSON body, signed per Standard Webhooks, plus the channel's own headers."""

import datetime as dt

from notifications import transport
from notifications.models import Channel, Delivery
from notifications.signing import signature_header


def secrets_in_force(channel: Channel, now: dt.datetime) -> list[str]:
    """The current secret, and the previous one for 24 h after a rotation."""
    expires = channel.previous_secret_expires_at
    if channel.previous_secret and expires and expires > now:
        return [channel.secret, channel.previous_secret]
    return [channel.secret]


def signed_headers(channel: Channel, delivery: Delivery, now: dt.datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        **channel.headers,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            secrets_in_force=secrets_in_force(channel, now),
            message_id=delivery.message_id,
            timestamp=timestamp,
            body=delivery.body.encode(),
        ),
    }


def send(*, channel: Channel, delivery: Delivery, now: dt.datetime) -> transport.Answer:
    return transport.post(channel.url, body=delivery.body.encode(), headers=signed_headers(channel, delivery, now))
