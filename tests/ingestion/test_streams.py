"""Streams are accountable like files: counts per day that add up, lost tasks swept up, windows closed for the
outbox and screened for fraud, streamed events in search and on the dashboard. Real servers and worker."""

import datetime as dt

import orjson
import pytest
from django_celery_results.models import TaskResult

from analytics.fraud.models import FraudAlert
from config.celery import app as celery_app
from ingestion import repository, stream_repository
from ingestion.services import streams
from tests.conftest import wait_until
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines, worker_paused
from tests.uploads_app.test_ingest_api import count_stream, ingest, settled

pytestmark = pytest.mark.django_db(transaction=True)

ACCESS = data_lines(WEB_ACCESS_LOGS.name, 40)
LONDON = "81.2.69.142"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_a_streams_counts_add_up_per_day_and_its_rate_shows_the_last_hour(celery_worker, api_client):
    first = ingest(api_client, ACCESS + b"not json\n", stream="counted").json()
    ingest(api_client, ACCESS[: ACCESS.index(b"\n") + 1], stream="counted")
    wait_until(lambda: settled(api_client, first["stream_id"]))

    detail = api_client.get(f"/api/logs/streams/{first['stream_id']}").json()

    today = now().date().isoformat()
    assert detail["name"] == "counted" and detail["log_type"] is None
    assert detail["days"] == [
        {"day": today, "received": 42, "indexed": 41, "dead_lettered": 1, "fallback": 0, "pending": 0}
    ]
    assert (
        detail["counts"] == detail["today"] == {key: value for key, value in detail["days"][0].items() if key != "day"}
    )
    assert len(detail["rate"]) == 60
    assert sum(minute["received"] for minute in detail["rate"]) == 42
    assert detail["last_received_at"] is not None
    # The same access-log line twice: one event (the same id), indexed twice and so counted twice.
    assert count_stream(first["stream_id"]) == 40


def test_another_users_stream_is_not_found_and_not_listed(api_client, other_client):
    stream_id = ingest(api_client, ACCESS, stream="private").json()["stream_id"]

    assert other_client.get(f"/api/logs/streams/{stream_id}").status_code == 404
    assert stream_id not in {row["stream_id"] for row in other_client.get("/api/logs/streams").json()["results"]}
    assert stream_id in {row["stream_id"] for row in api_client.get("/api/logs/streams").json()["results"]}


def test_a_batch_whose_task_was_lost_is_dispatched_again_by_the_sweeper(celery_worker, api_client):
    with worker_paused():
        result = ingest(api_client, ACCESS, stream="lost").json()
        celery_app.control.purge()  # as if the broker lost the message
    batch = stream_repository.batch_latest(result["stream_id"])
    assert batch.state == "queued"

    redispatched = streams.batches_sweep(at=now() + dt.timedelta(minutes=3))

    assert redispatched >= 1
    wait_until(lambda: count_stream(result["stream_id"]) == 40)
    assert streams.batches_sweep(at=now() + dt.timedelta(minutes=3)) == 0  # once per step of its age


def test_the_sweeper_mends_the_queue_the_backpressure_counts_after_a_process_died_between_two_writes(
    celery_worker, api_client
):
    with worker_paused():
        result = ingest(api_client, ACCESS, stream="mended").json()
        celery_app.control.purge()
        batch = stream_repository.batch_latest(result["stream_id"])
        # The web process died after recording the batch, before listing it on the queue.
        stream_repository.queue_remove([batch.batch_id])
        assert stream_repository.batches_unfinished(owner_id=batch.owner_id) == 0

        streams.batches_sweep(at=now() + dt.timedelta(minutes=3))

        assert stream_repository.batches_unfinished(owner_id=batch.owner_id) == 1
    wait_until(lambda: count_stream(result["stream_id"]) == 40)
    wait_until(lambda: stream_repository.batches_unfinished(owner_id=batch.owner_id) == 0)
    # A worker died after recording the batch done, before taking it off the queue.
    done = stream_repository.batch_get(batch.batch_id)
    assert done.state == "done"
    stream_repository.queue_add([done])
    assert stream_repository.batches_unfinished(owner_id=batch.owner_id) == 1

    streams.batches_sweep(at=now() + dt.timedelta(minutes=3))

    assert stream_repository.batches_unfinished(owner_id=batch.owner_id) == 0
    assert stream_repository.batch_get(batch.batch_id).indexed == 40


def card_testing(count: int = 20) -> bytes:
    """Small declined payments of one card, two a minute: the card-testing pattern the fraud rules look for."""
    start = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
    rows = [
        {
            "timestamp": (start + dt.timedelta(seconds=30 * n)).isoformat(),
            "card_number": "5500-0000-0000-0004",
            "ip": LONDON,
            "amount": 1.0,
            "payment_status": "declined",
        }
        for n in range(count)
    ]
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def test_a_closed_stream_window_is_an_outbox_event_that_fraud_screening_acts_on(celery_worker, api_client, user):
    result = ingest(api_client, card_testing(), stream="payments", log_type="transaction").json()
    wait_until(lambda: settled(api_client, result["stream_id"]))
    later = now() + dt.timedelta(minutes=6)

    streams.stream_windows_close(at=later)

    events = [event for event in repository.events_since(now() - dt.timedelta(hours=1), limit=10_000)]
    (event,) = [event for event in events if event.get("stream_id") == result["stream_id"]]
    assert event["kind"] == "stream.window_closed" and event["owner_id"] == user.pk
    assert event["counts"] == {"received": 20, "indexed": 20, "dead_lettered": 0, "fallback": 0}
    assert event["window_to"] - event["window_from"] == dt.timedelta(minutes=5)
    wait_until(
        lambda: TaskResult.objects.filter(
            task_name="analytics.fraud_scan_finished_job", task_args__contains=event["_id"], status="SUCCESS"
        ).exists()
    )
    alert = FraudAlert.objects.get(owner_id=user.pk)
    assert "card_testing" in alert.rules and alert.tier == "high" and alert.event_count == 20
    assert all(item["id"].startswith(result["stream_id"] + ":") for item in alert.evidence)
    # Closing again records nothing new: the event's id names its stream and window.
    assert streams.stream_windows_close(at=later) == 0


def test_streamed_events_are_found_by_the_stream_filter_of_search(celery_worker, api_client):
    one = ingest(api_client, ACCESS[:3000].rpartition(b"\n")[0] + b"\n", stream="search-a").json()
    ingest(api_client, ACCESS, stream="search-b")
    wait_until(lambda: count_stream(one["stream_id"]) == one["accepted"])

    found = api_client.get("/api/search", {"stream": "search-a", "page_size": 50}).json()

    assert found["total"]["value"] == one["accepted"]
    assert {hit["source"]["stream"] for hit in found["results"]} == {"search-a"}


def test_the_dashboard_counts_streamed_lines(celery_worker, api_client):
    result = ingest(api_client, ACCESS + b"[1]\n", stream="dash").json()
    wait_until(lambda: settled(api_client, result["stream_id"]))

    board = api_client.get("/api/dashboard").json()

    assert board["ingest"]["last_24h"]["indexed"] == 40
    assert board["ingest"]["last_24h"]["dead_lettered"] == 1
    assert board["ingest"]["per_day"][-1]["indexed"] == 40


def test_a_batch_that_keeps_killing_its_worker_is_set_aside_with_the_reason(celery_worker, api_client):
    with worker_paused():
        result = ingest(api_client, ACCESS, stream="poison").json()
        batch = stream_repository.batch_latest(result["stream_id"])
        # Three runs of it that started and never finished: their worker died, their heartbeat is long stale.
        died_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        for _ in range(3):
            repository.task_start(task_id=f"batch:{batch.batch_id}", job_id=batch.batch_id, tries=0, at=died_at)

    counts = wait_until(lambda: settled(api_client, result["stream_id"]))

    assert counts == {"received": 40, "indexed": 0, "dead_lettered": 40, "fallback": 0, "pending": 0}
    letters = stream_repository.dead_letters_page(result["stream_id"], skip=0, limit=50)
    assert len(letters) == 40
    assert letters[0]["reason"].startswith("Processing this batch stopped its worker 3 times")
    assert count_stream(result["stream_id"]) == 0
