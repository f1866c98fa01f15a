"""A retention run whose worker is killed half-way resumes under the same run: nothing deleted twice, the audit
counts each document once, and the jobs' records are right."""

import datetime as dt
import io
import sys

import pytest
from django.core.management import call_command

from config.celery import app as celery_app
from ingestion import repository
from ingestion.models import RetentionPolicy, RetentionRun
from tests.analytics.conftest import client_for
from tests.conftest import fresh_user_id, wait_until
from tests.faults.figures import record
from tests.faults.test_faults import another_worker
from tests.helpers import count_documents, transactions_on, upload_and_wait

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

OLD = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)


def test_a_run_killed_after_deleting_a_jobs_events_resumes_without_counting_twice(celery_worker, tmp_path):
    ana_id, bruno_id = fresh_user_id(), fresh_user_id()
    ana, bruno = client_for(ana_id, "ana"), client_for(bruno_id, "bruno")
    # Both users' old card transactions on one day: the day is never deleted whole, documents go one by one.
    first, _ = upload_and_wait(ana, "cards_a.csv", transactions_on(["2008-06-01T10:00:00Z"] * 3))
    second, _ = upload_and_wait(ana, "cards_b.csv", transactions_on(["2008-06-01T11:00:00Z"] * 2))
    kept, _ = upload_and_wait(bruno, "cards_c.csv", transactions_on(["2008-06-01T12:00:00Z"] * 2))
    for data in (first, second, kept):
        repository.job_update(data["job_id"], {"created_at": OLD})
    RetentionPolicy.objects.create(owner_id=ana_id, upload_events_days=30)
    log = tmp_path / "retention.log"
    slow = [sys.executable, "tests/faults/slow_retention_worker.py", "worker", "--concurrency", "1"]
    with another_worker(celery_worker, slow, SLOW_RETENTION_LOG=str(log)):
        celery_app.send_task("ingestion.retention")
        wait_until(lambda: log.exists() and "deleted" in log.read_text())
        celery_worker.kill()
    interrupted = RetentionRun.objects.get(is_open=True)
    claimed = list(interrupted.steps.filter(done_at__isnull=True))
    assert len(claimed) == 1  # deleted, not yet marked done

    # The task was taken but not acknowledged: the broker hands it to the restarted worker, which resumes the run.
    wait_until(
        lambda: RetentionRun.objects.filter(pk=interrupted.pk, finished_at__isnull=False).exists(), attempts=1800
    )
    run = RetentionRun.objects.get(pk=interrupted.pk)
    steps = {step.target: step.documents for step in run.steps.all()}

    assert run.resumes >= 1
    assert RetentionRun.objects.count() == 1
    assert steps == {first["job_id"]: 3, second["job_id"]: 2}
    assert all(step.done_at for step in run.steps.all())
    assert count_documents(first["file_id"]) == 0
    assert count_documents(second["file_id"]) == 0
    assert count_documents(kept["file_id"]) == 2
    assert repository.job_get(first["job_id"]).retention["events_deleted"] == 3
    assert repository.job_get(second["job_id"]).retention["events_deleted"] == 2
    assert repository.job_get(kept["job_id"]).retention == {}
    again = io.StringIO()
    call_command("retention", stdout=again)
    assert "deleted 0 events, 0 files and 0 dead letters in 0 steps" in again.getvalue()
    record("a retention run killed after a deletion, before marking it done", resumed=run.resumes, counted_twice=0)
