"""A Celery worker whose retention run stops for a long while right after a job's events are deleted, before the
step is marked done: the moment a crash hurts most. It writes `deleted <file_id>` to SLOW_RETENTION_LOG then.

Run by the fault tests only (`python tests/faults/slow_retention_worker.py worker ...`).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from config.celery import app  # noqa: E402
from ingestion.services import retention  # noqa: E402

LOG = Path(os.environ["SLOW_RETENTION_LOG"])
_delete = retention.delete_file_documents


def slow_delete(es, prefix, file_id):
    deletion = _delete(es, prefix, file_id)
    with LOG.open("a") as log:
        log.write(f"deleted {file_id}\n")
    time.sleep(600)  # the test kills the worker meanwhile
    return deletion


retention.delete_file_documents = slow_delete

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])
