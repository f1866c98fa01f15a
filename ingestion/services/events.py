"""The "job finished" outbox for other apps: read events, and mark each handled once per consumer."""

import datetime as dt

from ingestion import repository as repo


def job_event_get(*, event_id: str) -> dict | None:
    return repo.event_get(event_id)


def job_events_unclaimed(*, consumer: str, since: dt.datetime, until: dt.datetime, limit: int = 500) -> list[dict]:
    """Events between two moments that this consumer has not claimed yet, oldest first (its sweep's work list).

    An event whose claim exists but whose mark was lost is marked again and left out.
    """
    events = repo.events_unmarked(consumer, since=since, until=until, limit=limit)
    claimed = repo.event_claimed([event["_id"] for event in events], consumer)
    if claimed:
        repo.events_mark(sorted(claimed), consumer)
    return [event for event in events if event["_id"] not in claimed]


def job_event_handled(*, event_id: str, consumer: str) -> bool:
    return event_id in repo.event_claimed([event_id], consumer)


def job_event_claim(*, event_id: str, consumer: str) -> bool:
    return repo.event_claim(event_id, consumer)
