"""The stage tasks' retry policy: 3 attempts 5 s apart on transient errors, as the replaced system promised."""

import elasticsearch
import pymongo.errors

from config.celery import app
from config.errors import ServiceUnavailable
from ingestion.bulk import TransientIndexError
from ingestion.tasks import StageTask

STAGES = ("validate", "preview", "split", "parse", "enrich", "index")


def test_every_stage_makes_3_attempts_5_seconds_apart_on_transient_errors_only():
    for stage in STAGES:
        task = app.tasks[f"ingestion.{stage}"]

        assert isinstance(task, StageTask), stage
        assert task.max_retries == 2  # a first attempt and 2 retries
        assert task.default_retry_delay == 5
        assert (task.retry_backoff, task.retry_jitter) == (False, False)
        assert task.acks_late is True
        assert task.autoretry_for == (
            TransientIndexError,
            elasticsearch.ConnectionError,
            elasticsearch.ConnectionTimeout,
            ServiceUnavailable,
            pymongo.errors.ConnectionFailure,
        )
