"""Email channels: plain text and HTML alternatives through Django's SMTP backend (EMAIL_* settings)."""

import datetime as dt
import json
import smtplib
import time

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from notifications.messages import describe
from notifications.models import Channel, Delivery
from notifications.transport import Answer


def email_message(*, channel: Channel, delivery: Delivery) -> EmailMultiAlternatives:
    payload = json.loads(delivery.body)
    message = describe(event_type=payload["type"], data=payload["data"])
    context = {"message": message, "channel": channel, "timestamp": payload["timestamp"]}
    email = EmailMultiAlternatives(
        # One line: a line break in an event's words (a file name, an entity) must not end the header.
        subject=" ".join(f"[Log platform] {message.title}".split())[:200],
        body=render_to_string("notifications/email/event.txt", context),
        to=[channel.email],
        headers={"X-Log-Platform-Message-Id": delivery.message_id},
    )
    email.attach_alternative(render_to_string("notifications/email/event.html", context), "text/html")
    return email


def send(*, channel: Channel, delivery: Delivery, now: dt.datetime) -> Answer:
    started = time.monotonic()
    email = email_message(channel=channel, delivery=delivery)
    try:
        with get_connection(timeout=settings.EMAIL_TIMEOUT) as connection:
            connection.send_messages([email])
    except (smtplib.SMTPException, OSError) as error:
        return Answer(None, duration_ms=round((time.monotonic() - started) * 1000), error=f"SMTP: {error}"[:500])
    excerpt = f"Accepted by {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return Answer(None, excerpt=excerpt, duration_ms=round((time.monotonic() - started) * 1000))
