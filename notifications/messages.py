"""What an event says: the webhook body {"type", "timestamp", "data"}, and a title, lines and link for people.

Slack and email show the title, the lines and a link back to the page; an event type this module does not
know (a newer one) uses its data's `summary` and `url`.
"""

import datetime as dt
import json
from dataclasses import dataclass, field

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.formats import number_format

from notifications import events


def body_for(*, event_type: str, data: dict, at: dt.datetime) -> str:
    """The JSON body every attempt of a delivery sends, byte for byte (datetimes become ISO 8601)."""
    payload = {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Message:
    title: str
    lines: list[str] = field(default_factory=list)
    url: str = ""


def _number(value) -> str:
    return number_format(value or 0, force_grouping=True)


def _job_message(data: dict) -> Message:
    counts = data.get("counts") or {}
    status = str(data.get("status", "")).replace("_", " ")
    lines = [
        f"{_number(counts.get('indexed'))} of {_number(counts.get('total_lines'))} lines indexed, "
        f"{_number(counts.get('dead_lettered'))} set aside, {_number(counts.get('fallback'))} in the fallback index."
    ]
    if data.get("reason"):
        lines.append(f"Reason: {data['reason']}")
    return Message(f"Job {status}: {data.get('filename', data.get('job_id', ''))}", lines, data.get("url", ""))


def _fraud_message(data: dict) -> Message:
    title = f"Fraud alert, {data.get('tier')} tier: {data.get('entity_type')} {data.get('entity')}"
    lines = [f"Score {data.get('score')} from: {', '.join(data.get('rules') or [])}."]
    if data.get("previous_tier"):
        lines.append(f"The alert was {data['previous_tier']} tier before.")
    return Message(title, lines, data.get("url", ""))


def _test_message(data: dict) -> Message:
    return Message("Test notification from Log platform", [data.get("message", "")], data.get("url", ""))


def describe(*, event_type: str, data: dict) -> Message:
    if event_type in events.JOB_EVENT_BY_STATUS.values():
        return _job_message(data)
    if event_type == events.FRAUD_ALERT:
        return _fraud_message(data)
    if event_type == events.TEST:
        return _test_message(data)
    title = data.get("summary") or events.EVENT_LABELS.get(event_type, event_type)
    return Message(str(title), [str(line) for line in data.get("lines", [])], data.get("url", ""))
