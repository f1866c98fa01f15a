"""A Celery worker whose parser kills its process on a marked line: a chunk that always crashes its worker.

Run by the fault tests only (`python tests/faults/poison_worker.py worker ...`).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from config.celery import app  # noqa: E402
from ingestion.parsers import ndjson  # noqa: E402

MARK = b"KILL-THE-WORKER"
_parse = ndjson.parse_chunk


def parse_or_die(data: bytes, encoding: str, first_line: int):
    if MARK in data:
        os._exit(1)  # the process vanishes mid-task, as on a segfault or the OOM killer
    return _parse(data, encoding, first_line)


ndjson.parse_chunk = parse_or_die

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])
