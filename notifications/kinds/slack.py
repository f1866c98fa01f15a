"""Slack channels: an incoming-webhook message with `text` and blocks that link back to the page."""

import datetime as dt
import json

from notifications import transport
from notifications.messages import Message, describe
from notifications.models import Channel, Delivery


def _escape(text: str) -> str:
    """Slack's mrkdwn reads &, < and > as markup; these three must be escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict:
    text = " ".join([message.title, *message.lines])
    section = "\n".join([f"*{_escape(message.title)}*", *(_escape(line) for line in message.lines)])
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": section}}]
    if message.url:
        text = f"{text} {message.url}"
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in Log platform"},
                        "url": message.url,
                    }
                ],
            }
        )
    return {"text": text, "blocks": blocks}


def send(*, channel: Channel, delivery: Delivery, now: dt.datetime) -> transport.Answer:
    payload = json.loads(delivery.body)
    message = describe(event_type=payload["type"], data=payload["data"])
    return transport.post(channel.url, body=json.dumps(slack_payload(message)).encode(), headers={})
