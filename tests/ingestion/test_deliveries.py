"""Deliveries of a stage task: a second delivery waits while the first runs, finds it done, or counts a crash."""

import datetime as dt
import uuid

import pytest

from ingestion import repository
from ingestion.services import deliveries
from ingestion.services.deliveries import Delivery, Verdict, delivery_verdict
from tests.conftest import wait_until

NOW = dt.datetime(2018, 7, 22, 12, 0, tzinfo=dt.UTC)
FRESH_SINCE = NOW - dt.timedelta(seconds=90)


def start(start_id: str, *, seconds_ago: float, beat_seconds_ago: float, done: bool = False, tries: int = 0) -> dict:
    return {
        "_id": start_id,
        "task_id": "c5a0e1d4-parse",
        "tries": tries,
        "at": NOW - dt.timedelta(seconds=seconds_ago),
        "beat_at": NOW - dt.timedelta(seconds=beat_seconds_ago),
        "done": done,
    }


def verdict(*starts: dict, tries: int = 0) -> Delivery:
    mine = start("mine", seconds_ago=0, beat_seconds_ago=0, tries=tries)
    return delivery_verdict([*starts, mine], start_id="mine", tries=tries, fresh_since=FRESH_SINCE)


def test_the_first_delivery_runs():
    assert verdict() == Delivery(Verdict.RUN, start_id="mine", crashes=0)


def test_a_delivery_waits_while_an_earlier_one_still_beats():
    running = start("a", seconds_ago=600, beat_seconds_ago=20)

    assert verdict(running) == Delivery(Verdict.WAIT)


def test_a_delivery_finds_the_task_done_by_an_earlier_one():
    finished = start("a", seconds_ago=600, beat_seconds_ago=20, done=True)

    assert verdict(finished) == Delivery(Verdict.DONE)


def test_starts_whose_heartbeat_went_stale_are_crashes_of_this_try_only():
    crashed = [start(f"c{n}", seconds_ago=900 - n, beat_seconds_ago=300) for n in range(2)]
    earlier_try = start("r", seconds_ago=1000, beat_seconds_ago=400, tries=0)

    assert verdict(*crashed) == Delivery(Verdict.RUN, start_id="mine", crashes=2)
    assert verdict(earlier_try, tries=1) == Delivery(Verdict.RUN, start_id="mine", crashes=0)


def test_of_two_deliveries_starting_at_once_only_the_earlier_runs():
    later = start("later", seconds_ago=-0.001, beat_seconds_ago=0)
    earlier = start("earlier", seconds_ago=0.001, beat_seconds_ago=0)

    assert verdict(later).verdict is Verdict.RUN
    assert verdict(earlier).verdict is Verdict.WAIT


@pytest.fixture
def task_id() -> str:
    return str(uuid.uuid4())


def test_on_the_real_server_a_second_delivery_waits_then_finds_the_work_done(task_id, settings):
    settings.LOGS_TASK_VISIBILITY_SECONDS = 10
    job_id = uuid.uuid4().hex

    first = deliveries.delivery_start(task_id=task_id, job_id=job_id, tries=0)
    second = deliveries.delivery_start(task_id=task_id, job_id=job_id, tries=0)
    deliveries.delivery_done(start_id=first.start_id)
    third = deliveries.delivery_start(task_id=task_id, job_id=job_id, tries=0)

    assert first.verdict is Verdict.RUN
    assert second.verdict is Verdict.WAIT
    assert third.verdict is Verdict.DONE
    assert [row["_id"] for row in repository.task_starts_of(task_id)] == [first.start_id]  # waiting left no trace


def test_on_the_real_server_the_heartbeat_keeps_a_running_delivery_fresh(task_id, settings):
    settings.LOGS_TASK_VISIBILITY_SECONDS = 10  # a beat every 3.3 s
    first = deliveries.delivery_start(task_id=task_id, job_id=uuid.uuid4().hex, tries=0)
    started = repository.task_starts_of(task_id)[0]["beat_at"]

    with deliveries.delivery_heartbeat(start_id=first.start_id):
        wait_until(lambda: repository.task_starts_of(task_id)[0]["beat_at"] > started, attempts=100)

    assert repository.task_starts_of(task_id)[0]["done"] is False


def test_a_delivery_whose_start_was_cleaned_away_finds_the_work_done():
    # Its job's starts were all removed between its write and its read: that happens once the work is finished.
    fresh_since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)

    delivery = deliveries._verdict([], start_id="gone", tries=0, fresh_since=fresh_since)

    assert delivery.verdict is Verdict.DONE
