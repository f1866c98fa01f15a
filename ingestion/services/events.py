"""The outbox for other apps ("job finished", "stream window closed"): read events, claim each once per consumer."""

import datetime as dt

from ingestion import repository as repo


def job_event_get(*, event_id: str) -> dict | None:
    return repo.event_get(event_id)


def job_events_unclaimed(*, consumer: str, since: dt.datetime, until: dt.datetime | None = None) -> list[dict]:
    """Events between two moments that this consumer has not claimed yet (its sweep's work list)."""
    unclaimed, skip, page = [], 0, 500
    # In pages: streams add an event per active stream every few minutes, more than one page holds.
    while events := repo.events_since(since, skip=skip, limit=page):
        events = [event for event in events if until is None or event["created_at"] <= until]
        claimed = repo.event_claimed([event["_id"] for event in events], consumer)
        unclaimed += [event for event in events if event["_id"] not in claimed]
        skip += page
    return unclaimed


def job_event_handled(*, event_id: str, consumer: str) -> bool:
    return event_id in repo.event_claimed([event_id], consumer)


def job_event_claim(*, event_id: str, consumer: str) -> bool:
    return repo.event_claim(event_id, consumer)
