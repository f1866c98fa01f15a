"""A Celery worker whose chunk parsing takes longer than the broker's visibility timeout, and that writes down
every delivery of a parse task and every delivery that parsed while the job was running.

Run by the fault tests only (`python tests/faults/slow_worker.py worker ...`), with SLOW_PARSE_SECONDS and
SLOW_PARSE_LOG (the file the lines `delivery <job_id> <chunk>` and `parsed <job_id> <chunk>` go to).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from celery.signals import task_prerun  # noqa: E402

from config.celery import app  # noqa: E402
from ingestion import repository  # noqa: E402
from ingestion.enums import JobStatus  # noqa: E402
from ingestion.services import stages  # noqa: E402

LOG = Path(os.environ["SLOW_PARSE_LOG"])
SECONDS = float(os.environ["SLOW_PARSE_SECONDS"])
_parse = stages.chunk_parse


def _write(line: str) -> None:
    with LOG.open("a") as log:  # appends of one short line from several processes stay whole
        log.write(line + "\n")


@task_prerun.connect
def note_delivery(task=None, args=None, **_):
    if task.name == "ingestion.parse":
        _write(f"delivery {args[0]} {args[2]}")


def slow_parse(*, job_id: str, attempt: int, number: int) -> bool:
    # A delivery that comes after the job ended finds nothing to do (the stage checks it): not a second run.
    if repository.job_get(job_id).status == JobStatus.PROCESSING:
        _write(f"parsed {job_id} {number}")
        time.sleep(SECONDS)
    return _parse(job_id=job_id, attempt=attempt, number=number)


stages.chunk_parse = slow_parse

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])
