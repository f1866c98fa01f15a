"""The "job finished" outbox for other apps: read events, claim one per consumer, give it back on failure."""

import datetime as dt

from ingestion import repository as repo


def job_event_get(*, event_id: str) -> dict | None:
    return repo.event_get(event_id)


def job_events_unclaimed(*, consumer: str, since: dt.datetime) -> list[dict]:
    """Events since a moment that this consumer has not claimed yet (its sweep's work list)."""
    events = repo.events_since(since)
    claimed = repo.event_claimed([event["_id"] for event in events], consumer)
    return [event for event in events if event["_id"] not in claimed]


def job_event_claim(*, event_id: str, consumer: str) -> bool:
    return repo.event_claim(event_id, consumer)


def job_event_release(*, event_id: str, consumer: str) -> None:
    repo.event_release(event_id, consumer)
