"""A batch's task takes other queued batches along: one bulk request for all, each batch counted on its own, none
taken twice, a batch that killed a worker never taken along. Real servers; the runs are called in the test."""

import datetime as dt

import pytest

from ingestion import repository, stream_repository
from ingestion.services import streams
from tests.conftest import wait_until
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines, worker_paused
from tests.uploads_app.test_ingest_api import count_stream, ingest, settled

pytestmark = pytest.mark.django_db(transaction=True)

LINES = data_lines(WEB_ACCESS_LOGS.name, 120).splitlines(keepends=True)
FIRST, SECOND, THIRD = (b"".join(LINES[start : start + 40]) for start in (0, 40, 80))


def batch_ids(stream_id: str) -> list[str]:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    found = stream_repository.batches_received_since(stream_id, since)
    return [batch.batch_id for batch in sorted(found, key=lambda batch: batch.received_at)]


def test_batches_queued_meanwhile_are_indexed_by_one_task_each_counted_on_its_own(celery_worker, api_client):
    with worker_paused():
        one = ingest(api_client, FIRST + b"not json\n", stream="together-a").json()
        ingest(api_client, SECOND, stream="together-a")
        other = ingest(api_client, THIRD, stream="together-b").json()
        first, second = batch_ids(one["stream_id"])
        (third,) = batch_ids(other["stream_id"])

        done = streams.batch_process(batch_id=first)
        # The tasks of the batches taken along find nothing left to do.
        again = [streams.batch_process(batch_id=batch_id) for batch_id in (second, third)]

    assert done == {
        first: {"indexed": 40, "dead_lettered": 1, "fallback": 0},
        second: {"indexed": 40, "dead_lettered": 0, "fallback": 0},
        third: {"indexed": 40, "dead_lettered": 0, "fallback": 0},
    }
    assert again == [None, None]
    assert wait_until(lambda: settled(api_client, one["stream_id"])) == {
        "received": 81,
        "indexed": 80,
        "dead_lettered": 1,
        "fallback": 0,
        "pending": 0,
    }
    assert settled(api_client, other["stream_id"])["indexed"] == 40
    assert count_stream(one["stream_id"]) == 80 and count_stream(other["stream_id"]) == 40
    # Each batch keeps its own stamp, so the live feed names each one's documents apart.
    stamps = {stream_repository.batch_get(batch_id).ingested_at for batch_id in (first, second, third)}
    assert len(stamps) == 3


def test_a_task_takes_along_only_what_fits_in_stream_batch_events(celery_worker, api_client, settings):
    settings.STREAM_BATCH_EVENTS = 100
    with worker_paused():
        stream_id = ingest(api_client, FIRST, stream="bounded").json()["stream_id"]
        ingest(api_client, SECOND, stream="bounded")
        ingest(api_client, THIRD, stream="bounded")
        first, second, third = batch_ids(stream_id)

        taken = streams.batch_process(batch_id=first)
        rest = streams.batch_process(batch_id=third)

    assert list(taken) == [first, second]  # 80 events; the third's 40 more would pass 100
    assert list(rest) == [third]
    assert wait_until(lambda: settled(api_client, stream_id))["indexed"] == 120


def test_a_batch_that_killed_a_worker_is_never_taken_along(celery_worker, api_client):
    with worker_paused():
        healthy = ingest(api_client, FIRST, stream="healthy").json()["stream_id"]
        suspect = ingest(api_client, SECOND, stream="suspect").json()["stream_id"]
        (healthy_batch,) = batch_ids(healthy)
        (suspect_batch,) = batch_ids(suspect)
        # One run of the suspect batch started an hour ago and never finished: its worker died.
        died_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        repository.task_start(task_id=f"batch:{suspect_batch}", job_id=suspect_batch, tries=0, at=died_at)

        taken = streams.batch_process(batch_id=healthy_batch)
        alone = streams.batch_process(batch_id=suspect_batch)

    assert list(taken) == [healthy_batch]
    # Run on its own task, alone: one crash is not yet a reason to set it aside.
    assert alone == {suspect_batch: {"indexed": 40, "dead_lettered": 0, "fallback": 0}}
    assert wait_until(lambda: settled(api_client, suspect))["indexed"] == 40


def test_a_batch_another_run_is_on_is_left_to_it(celery_worker, api_client):
    with worker_paused():
        stream_id = ingest(api_client, FIRST, stream="busy").json()["stream_id"]
        (batch_id,) = batch_ids(stream_id)
        # A run that took it along started a moment ago and is still beating.
        start_id = repository.task_start(
            task_id=f"batch:{batch_id}", job_id=batch_id, tries=0, at=dt.datetime.now(dt.UTC)
        )

        left = streams.batch_process(batch_id=batch_id)
        still = stream_repository.batch_get(batch_id).state
        repository.task_start_delete(start_id)  # that run ends without finishing it: the batch's own task runs it

    assert left is None and still == "queued"
    assert wait_until(lambda: settled(api_client, stream_id))["indexed"] == 40
