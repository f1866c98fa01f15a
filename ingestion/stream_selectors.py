"""Stream reads: which streams a user may see, their counts per day, their rate over the last hour, dead letters."""

import datetime as dt
from collections.abc import Iterator

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import status

from config.errors import ApplicationError
from ingestion import stream_repository as streams_repo
from ingestion.selectors import owner_scope
from ingestion.stream import STREAM_COUNT_NAMES, Stream

RATE_MINUTES = 60


def _zero() -> dict[str, int]:
    return dict.fromkeys(STREAM_COUNT_NAMES, 0)


def stream_get(*, stream_id: str, user: AbstractBaseUser) -> Stream:
    stream = streams_repo.stream_get(stream_id)
    # Another user's stream is reported exactly like a missing one, so ids cannot be probed.
    if stream is None or (not user.is_staff and stream.owner_id != user.pk):
        raise ApplicationError("Stream not found", status.HTTP_404_NOT_FOUND)
    return stream


def stream_summaries(*, user: AbstractBaseUser, today: dt.date) -> list[dict]:
    """The streams this user sees (staff: everyone's), each with today's counts (UTC) and its last request."""
    streams = streams_repo.streams_of(owner_scope(user))
    counts = {
        row["stream_id"]: row
        for row in streams_repo.counts_per_day(since_day=today.isoformat(), owner_id=owner_scope(user))
        if row["day"] == today.isoformat()
    }
    return [_summary(stream, counts.get(stream.stream_id)) for stream in streams]


def _summary(stream: Stream, today: dict | None) -> dict:
    latest = streams_repo.batch_latest(stream.stream_id)
    return {
        "stream_id": stream.stream_id,
        "name": stream.name,
        "log_type": stream.log_type or None,
        "owner_name": stream.owner_name,
        "created_at": stream.created_at,
        "last_received_at": latest.received_at if latest else None,
        "today": {name: (today or {}).get(name, 0) for name in STREAM_COUNT_NAMES},
    }


def stream_detail(*, stream: Stream, now: dt.datetime, days: int = 30) -> dict:
    """A stream's counts per UTC day (the last `days`, newest first, days without traffic left out), their
    totals, and the lines received per minute over the last hour."""
    since = (now - dt.timedelta(days=days - 1)).date().isoformat()
    rows = sorted(streams_repo.counts_per_day(since_day=since, stream_id=stream.stream_id), key=lambda row: row["day"])
    per_day = [{"day": row["day"], **{name: row[name] for name in STREAM_COUNT_NAMES}} for row in reversed(rows)]
    totals = _zero()
    for row in per_day:
        for name in STREAM_COUNT_NAMES:
            totals[name] += row[name]
    return {
        **_summary(stream, per_day[0] if per_day and per_day[0]["day"] == now.date().isoformat() else None),
        "counts": totals,
        "days": per_day,
        "rate": stream_rate(stream=stream, now=now),
    }


def stream_rate(*, stream: Stream, now: dt.datetime) -> list[dict]:
    """Lines received in each of the last 60 minutes (oldest first), from the stream's batches."""
    end = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    start = end - dt.timedelta(minutes=RATE_MINUTES)
    per_minute = dict.fromkeys((start + dt.timedelta(minutes=step) for step in range(RATE_MINUTES)), 0)
    for batch in streams_repo.batches_received_since(stream.stream_id, start):
        minute = batch.received_at.replace(second=0, microsecond=0)
        if minute in per_minute:
            per_minute[minute] += batch.received
    return [{"minute": minute, "received": received} for minute, received in per_minute.items()]


def dead_letters_page(*, stream: Stream, page: int, page_size: int) -> tuple[list[dict], int]:
    rows = streams_repo.dead_letters_page(stream.stream_id, skip=(page - 1) * page_size, limit=page_size)
    return rows, streams_repo.dead_letters_count(stream.stream_id)


def dead_letters_iter(*, stream: Stream) -> Iterator[dict]:
    return streams_repo.dead_letters_iter(stream.stream_id)
