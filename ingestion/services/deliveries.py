"""Deliveries of a stage task: which one runs it, whether an earlier one finished it, which ones died.

Redis hands a task out again when it has not been acknowledged within the visibility timeout: after its
worker died, but also while a long stage (inflating and checking a 1 GB file) is still running. So each
delivery records its start in MongoDB and refreshes a heartbeat on that record every third of the
timeout while it runs. Another delivery of the same task then sees which case it is in:
- an earlier delivery with a fresh heartbeat is running it: wait, and look again later;
- an earlier delivery marked done has finished it: nothing to do;
- a start whose heartbeat is older than the timeout is a worker that died running it: counted, so a
  task that keeps killing its worker fails the job instead of looping.
"""

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from config.errors import ServiceUnavailable
from ingestion import repository as repo

logger = logging.getLogger(__name__)


class Verdict(StrEnum):
    RUN = "run"
    WAIT = "wait"
    DONE = "done"


@dataclass(frozen=True)
class Delivery:
    verdict: Verdict
    start_id: str | None = None
    crashes: int = 0  # earlier deliveries of this try that died with their worker


def heartbeat_seconds() -> float:
    return settings.LOGS_TASK_VISIBILITY_SECONDS / 3


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def delivery_verdict(starts: list[dict], *, start_id: str, tries: int, fresh_since: dt.datetime) -> Delivery:
    """What the delivery that wrote `start_id` does, given every start record of its task.

    Of two deliveries starting at once, both see both records: the earlier start runs, the later waits.
    """
    mine = next(start for start in starts if start["_id"] == start_id)
    others = [start for start in starts if start["_id"] != start_id]
    if any(start["done"] for start in others):
        return Delivery(Verdict.DONE)
    order = (mine["at"], start_id)
    if any(start["beat_at"] >= fresh_since and (start["at"], start["_id"]) < order for start in others):
        return Delivery(Verdict.WAIT)
    # A retry is another try: the starts of earlier tries ended in that retry, they did not crash.
    crashes = sum(1 for start in others if start["beat_at"] < fresh_since and start["tries"] == tries)
    return Delivery(Verdict.RUN, start_id=start_id, crashes=crashes)


def delivery_start(*, task_id: str, job_id: str, tries: int) -> Delivery:
    """Record this delivery's start and decide whether it runs the task, waits, or finds it done."""
    return deliveries_start(tasks={task_id: job_id}, tries=tries)[task_id]


def deliveries_start(*, tasks: dict[str, str], tries: int) -> dict[str, Delivery]:
    """Start a delivery of each task ({task_id: job_id}) at once: the same verdicts as one by one, in three requests.

    Stream tasks take several batches together this way; each batch is claimed exactly as its own task would.
    """
    at = _now()
    start_ids = repo.task_starts_many(tasks=tasks, tries=tries, at=at)
    try:
        starts: dict[str, list[dict]] = {}
        for start in repo.task_starts_of_many(list(tasks)):
            starts.setdefault(start["task_id"], []).append(start)
    except BaseException:
        repo.task_starts_delete_ids(list(start_ids.values()))  # none of them ran: none may count as a crash
        raise
    fresh_since = at - dt.timedelta(seconds=settings.LOGS_TASK_VISIBILITY_SECONDS)
    verdicts = {
        task_id: _verdict(starts.get(task_id, []), start_id=start_ids[task_id], tries=tries, fresh_since=fresh_since)
        for task_id in tasks
    }
    idle = [start_ids[task_id] for task_id, delivery in verdicts.items() if delivery.verdict is not Verdict.RUN]
    if idle:
        repo.task_starts_delete_ids(idle)  # they did not run, so they never count as crashes
    return verdicts


def _verdict(starts: list[dict], *, start_id: str, tries: int, fresh_since: dt.datetime) -> Delivery:
    # A start already gone was removed with all of its job's starts, which happens once the work is finished (a
    # stream batch done by a run that took it along, a job's end) between this delivery's write and its read.
    if not any(start["_id"] == start_id for start in starts):
        return Delivery(Verdict.DONE)
    return delivery_verdict(starts, start_id=start_id, tries=tries, fresh_since=fresh_since)


def delivery_running(*, task_id: str) -> bool:
    """Whether a delivery of this task runs now (a start not done, with a fresh heartbeat): one read, no write."""
    fresh_since = _now() - dt.timedelta(seconds=settings.LOGS_TASK_VISIBILITY_SECONDS)
    return any(not start["done"] and start["beat_at"] >= fresh_since for start in repo.task_starts_of(task_id))


@contextmanager
def delivery_heartbeat(*, start_id: str) -> Iterator[None]:
    """Refresh the delivery's heartbeat from a background thread while the block runs."""
    with deliveries_heartbeat(start_ids=[start_id]):
        yield


@contextmanager
def deliveries_heartbeat(*, start_ids: list[str]) -> Iterator[None]:
    """Refresh the heartbeats of deliveries run together, in one request per beat, while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_seconds()):
            try:
                repo.task_beat(start_ids, _now())
            except ServiceUnavailable:
                # A MongoDB blip: the next beat tries again; only a whole timeout without one looks dead.
                logger.warning("heartbeat of task starts %s not recorded (MongoDB unavailable)", start_ids)

    thread = threading.Thread(target=beat, name=f"heartbeat-{start_ids[0]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def delivery_done(*, start_id: str) -> None:
    """The delivery finished the task: any later delivery of it has nothing to do."""
    repo.task_done(start_id)


def delivery_ended_in_error(*, start_id: str) -> None:
    """The delivery ended in an error (a retry is queued, or the job fails): it no longer runs the task.

    Never raises: the stage's own error must reach Celery. A record left behind by a MongoDB blip only
    makes a retry wait until its heartbeat is stale; being of an earlier try, it never counts as a crash.
    """
    try:
        repo.task_start_delete(start_id)
    except ServiceUnavailable:
        logger.warning("task start %s not cleared (MongoDB unavailable); it goes stale by itself", start_id)
