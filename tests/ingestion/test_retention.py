"""Retention on the real servers: what a policy deletes, what it never touches, the dry run and the audit."""

import datetime as dt
import io
from types import SimpleNamespace

import orjson
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command

from config.es import get_es
from ingestion import repository
from ingestion.enums import JobStatus
from ingestion.models import RetentionPolicy, RetentionRun
from ingestion.services.jobs import file_gone_sentence
from tests.analytics.conftest import client_for
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import a_job, count_documents, data_lines, transactions_on, upload_and_wait

# One kind of database access for every test here: pytest-django runs kinds apart, which would build the module's
# scenario twice.
pytestmark = pytest.mark.django_db

ANA_ID, BRUNO_ID, STAFF_ID = 917_001, 917_002, 917_003
OLD = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
PREFIX = settings.LOGS_INDEX_PREFIX


def web_rows_on(days: list[str], *, broken: bool = False) -> bytes:
    """Real web access rows, one at 10:00 on each day (and an unreadable row: a dead letter), as NDJSON."""
    rows = [orjson.loads(line) for line in data_lines(WEB_ACCESS_LOGS.name, len(days)).splitlines()]
    lines = [
        orjson.dumps({**row, "timestamp": f"{day}T10:00:00Z"}) + b"\n" for row, day in zip(rows, days, strict=True)
    ]
    if broken:
        lines.append(b'{"timestamp": "2009-01-05T11:00:00Z", "clientip": \n')
    return b"".join(lines)


def plant_stream_events(owner_id: int, days: list[str]) -> list[str]:
    """Streamed events as a stream ingest writes them (a `stream_id`, the owner, no job); returns their ids."""
    es, ids = get_es(), []
    rows = [orjson.loads(line) for line in data_lines(WEB_ACCESS_LOGS.name, len(days)).splitlines()]
    for row, day in zip(rows, days, strict=True):
        document_id = f"stream-{owner_id}-{day}"
        document = {**row, "@timestamp": f"{day}T09:00:00Z", "owner": str(owner_id), "stream_id": "shop-web"}
        es.index(index=f"{PREFIX}-{day.replace('-', '.')}", id=document_id, document=document)
        ids.append(document_id)
    es.indices.refresh(index=PREFIX)
    return ids


def stream_event_exists(day: str, owner_id: int) -> bool:
    return get_es().exists(index=f"{PREFIX}-{day.replace('-', '.')}", id=f"stream-{owner_id}-{day}").body


def index_exists(day: str) -> bool:
    return get_es().indices.exists(index=f"{PREFIX}-{day.replace('-', '.')}").body


def make_old(job_id: str) -> None:
    repository.job_update(job_id, {"created_at": OLD})


@pytest.fixture(scope="module")
def scenario(celery_worker, django_db_blocker):
    """Ana keeps uploads, files, dead letters and streamed events 30 days; Bruno has no policy. Old and recent
    uploads and streamed events of both, one of Ana's old jobs running again; a dry run, then a run."""
    ana, bruno = client_for(ANA_ID, "ana"), client_for(BRUNO_ID, "bruno")
    staff = client_for(STAFF_ID, "chief", staff=True)
    # Ana's old upload alone on its days (whole indices), with a dead letter.
    alone, _ = upload_and_wait(ana, "web_2009_jan.ndjson", web_rows_on(["2009-01-05", "2009-01-06"], broken=True))
    # Ana's old upload on a day Bruno's old upload shares (documents deleted one by one; Bruno's stay).
    shared, _ = upload_and_wait(ana, "card_2009_feb.csv", transactions_on(["2009-02-10T12:00:00Z"] * 2))
    bruno_old, _ = upload_and_wait(bruno, "card_2009_feb_b.csv", transactions_on(["2009-02-10T13:00:00Z"] * 3))
    # Ana's upload inside the window, and an old one of hers that is running again.
    recent, _ = upload_and_wait(ana, "card_2009_mar.csv", transactions_on(["2009-03-01T12:00:00Z"] * 2))
    running, _ = upload_and_wait(ana, "card_2009_apr.csv", transactions_on(["2009-04-20T12:00:00Z"] * 2))
    for data in (alone, shared, bruno_old, running):
        make_old(data["job_id"])
    repository.job_update(running["job_id"], {"status": JobStatus.PROCESSING})
    today = dt.date.today().isoformat()
    plant_stream_events(ANA_ID, ["2009-05-01", today])
    plant_stream_events(BRUNO_ID, ["2009-05-01"])
    with django_db_blocker.unblock():
        RetentionPolicy.objects.all().delete()  # none left by another test: only Ana's applies
        days = {"upload_events_days": 30, "stream_events_days": 30, "files_days": 30, "dead_letters_days": 30}
        assert ana.put("/api/retention/policy", days, format="json").status_code == 200
        try:
            dry_run = staff.get("/api/retention/dry-run").json()
            ana_dry_run = ana.get("/api/retention/dry-run").json()
            output = io.StringIO()
            call_command("retention", stdout=output)
            runs = staff.get("/api/retention/runs").json()
            second = io.StringIO()
            call_command("retention", stdout=second)
            yield SimpleNamespace(
                alone=alone,
                shared=shared,
                bruno_old=bruno_old,
                recent=recent,
                running=running,
                dry_run=dry_run,
                ana_dry_run=ana_dry_run,
                output=output.getvalue(),
                second_output=second.getvalue(),
                runs=runs,
                today=today,
            )
        finally:
            RetentionPolicy.objects.all().delete()
            RetentionRun.objects.all().delete()
            repository.job_update(running["job_id"], {"status": JobStatus.COMPLETED})
            for data, client in ((alone, ana), (shared, ana), (recent, ana), (running, ana), (bruno_old, bruno)):
                assert client.delete(f"/api/logs/uploads/{data['file_id']}").status_code == 200


def test_an_old_upload_alone_on_its_days_loses_its_indices_whole(scenario):
    assert count_documents(scenario.alone["file_id"]) == 0
    assert not index_exists("2009-01-05")
    assert not index_exists("2009-01-06")
    steps = scenario.runs[0]["steps"]
    whole = sorted(step["target"] for step in steps if step["kind"] == "index")
    assert whole == [f"{PREFIX}-2009.01.05", f"{PREFIX}-2009.01.06"]


def test_the_job_keeps_its_counts_and_says_its_events_and_file_are_gone(scenario):
    job = repository.job_get(scenario.alone["job_id"])
    assert job.counts["indexed"] == 2
    assert job.counts["dead_lettered"] == 1
    assert job.retention["events_deleted"] == 2
    assert job.retention["events_days"] == 30
    assert job.retention["file_days"] == 30
    assert not default_storage.exists(job.stored_name)
    assert repository.dead_letters_count(job.job_id) == 0
    answer = client_for(ANA_ID, "ana").get(f"/api/logs/jobs/{job.job_id}").json()
    assert answer["counts"]["indexed"] == 2
    assert answer["retention"]["events_deleted"] == 2
    assert answer["retention"]["file_deleted_at"].startswith(dt.datetime.now(dt.UTC).date().isoformat())


def test_an_old_upload_sharing_a_day_loses_its_documents_and_the_other_users_stay(scenario):
    assert count_documents(scenario.shared["file_id"]) == 0
    assert count_documents(scenario.bruno_old["file_id"]) == 3
    bruno_job = repository.job_get(scenario.bruno_old["job_id"])
    assert bruno_job.retention == {}
    assert default_storage.exists(bruno_job.stored_name)


def test_an_upload_inside_the_window_survives(scenario):
    assert count_documents(scenario.recent["file_id"]) == 2
    job = repository.job_get(scenario.recent["job_id"])
    assert job.retention == {}
    assert default_storage.exists(job.stored_name)


def test_a_running_job_survives_although_it_is_old(scenario):
    assert count_documents(scenario.running["file_id"]) == 2
    job = repository.job_get(scenario.running["job_id"])
    assert job.retention == {}
    assert default_storage.exists(job.stored_name)


def test_streamed_events_go_by_event_day_and_only_the_owners(scenario):
    assert not stream_event_exists("2009-05-01", ANA_ID)
    assert stream_event_exists(scenario.today, ANA_ID)
    assert stream_event_exists("2009-05-01", BRUNO_ID)


def test_the_dry_run_lists_exactly_what_the_run_then_deleted(scenario):
    def figures(steps):
        return sorted(
            (step["kind"], step["target"], step["documents"], step["files"], step["dead_letters"]) for step in steps
        )

    run = scenario.runs[0]
    assert run["finished_at"] is not None
    assert figures(scenario.dry_run["steps"]) == figures(run["steps"])
    totals = scenario.dry_run["totals"]
    planned = [(step["kind"], step["target"], step["documents"]) for step in scenario.dry_run["steps"]]
    assert totals["events"] == 2 + 2 + 1, planned  # the whole days of one upload, the other's rows, a streamed event
    assert totals["files"] == 2
    assert totals["dead_letters"] == 1
    assert totals["jobs"] == 2
    assert [row["owner_id"] for row in scenario.dry_run["per_user"]] == [ANA_ID]


def test_a_user_dry_run_shows_their_own_share(scenario):
    assert scenario.ana_dry_run["totals"] == scenario.dry_run["totals"] | {"indices": 2}
    assert {step["owner_id"] for step in scenario.ana_dry_run["steps"]} == {ANA_ID}


def test_the_command_reports_progress_and_a_second_run_deletes_nothing(scenario):
    assert "deleted 5 events, 2 files and 1 dead letters" in scenario.output
    assert "[1/" in scenario.output
    assert "deleted 0 events, 0 files and 0 dead letters in 0 steps" in scenario.second_output


def test_a_retry_of_a_job_whose_file_is_gone_is_refused(scenario):
    response = client_for(ANA_ID, "ana").post(f"/api/logs/jobs/{scenario.alone['job_id']}/retry")
    assert response.status_code == 409
    assert "The uploaded file was deleted on " in response.json()["error"]
    assert "by the retention policy (keep files 30 days)" in response.json()["error"]


def test_nothing_is_planned_without_a_policy_and_a_default_applies_to_everyone(scenario):
    RetentionPolicy.objects.all().delete()  # undone with the test's transaction
    staff = client_for(STAFF_ID, "chief", staff=True)
    answer = staff.get("/api/retention/dry-run").json()
    assert answer["steps"] == []
    assert answer["totals"]["events"] == 0
    assert staff.put("/api/retention/default", {"upload_events_days": 30}, format="json").status_code == 200
    planned = staff.get("/api/retention/dry-run").json()["steps"]
    # Bruno's rows are all that is left of their day: the index goes whole, the job's step finds nothing else.
    assert {step["target"]: step["documents"] for step in planned} == {
        f"{PREFIX}-2009.02.10": 3,
        scenario.bruno_old["job_id"]: 0,
    }


def test_only_staff_set_the_default():
    bruno, staff = client_for(BRUNO_ID, "bruno"), client_for(STAFF_ID, "chief", staff=True)
    assert bruno.put("/api/retention/default", {"files_days": 7}, format="json").status_code == 403
    assert bruno.get("/api/retention/runs").status_code == 403
    assert staff.put("/api/retention/default", {"files_days": 7}, format="json").json()["files_days"] == 7
    mine = bruno.get("/api/retention/policy").json()
    assert mine["own"]["files_days"] is None
    assert mine["effective"]["files_days"] == 7


def test_a_policy_of_zero_days_is_refused_in_words():
    response = client_for(ANA_ID, "ana").put("/api/retention/policy", {"files_days": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert "files_days" in response.json()["error"]


def test_the_job_page_says_its_events_file_and_rejected_rows_were_removed(scenario, client, django_user_model):
    client.force_login(django_user_model.objects.create_user(id=ANA_ID, username="ana", password="a-long-password-1"))
    page = client.get(f"/jobs/{scenario.alone['job_id']}/").content.decode()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"Events older than 30 days were deleted by the retention policy on {today} (2 events)" in page
    assert f"The uploaded file was deleted on {today} by the retention policy (keep files 30 days)." in page
    assert f"Its 1 rejected rows were deleted by the retention policy on {today}" in page
    assert f"/jobs/{scenario.alone['job_id']}/retry" not in page
    kept = client.get(f"/jobs/{scenario.recent['job_id']}/").content.decode()
    assert "retention policy" not in kept


def test_a_file_gone_with_its_events_kept_says_they_are_still_searchable():
    job = a_job(retention={"file_deleted_at": dt.datetime(2026, 12, 1, 3, 17, tzinfo=dt.UTC), "file_days": 30})
    assert file_gone_sentence(job) == (
        "The uploaded file was deleted on 2026-12-01 by the retention policy (keep files 30 days); "
        "its events are still searchable"
    )


def test_the_settings_page_saves_a_policy_and_shows_the_dry_run(scenario, client, django_user_model):
    client.force_login(
        django_user_model.objects.create_user(id=BRUNO_ID, username="bruno", password="a-long-password-2")
    )
    page = client.get("/settings/retention/").content.decode()
    assert "Nothing: no data is past its policy." in page
    assert 'aria-current="page">Retention</a>' in page
    response = client.post("/settings/retention/", {"scope": "own", "upload_events_days": "30"}, follow=True)
    assert "Your retention policy is saved." in response.content.decode()
    after = response.content.decode()
    assert "5 events" not in after
    assert "3 events" in after  # Bruno's old upload of three card transactions would go now
    refused = client.post("/settings/retention/", {"scope": "own", "files_days": "0"})
    assert "Ensure this value is greater than or equal to 1." in refused.content.decode()
    assert client.post("/settings/retention/", {"scope": "default", "files_days": "7"}).status_code == 403


def test_staff_see_the_audit_on_the_settings_page(scenario, client, django_user_model):
    chief = django_user_model.objects.create_user(
        id=STAFF_ID, username="chief", password="a-long-password-3", is_staff=True
    )
    client.force_login(chief)
    page = client.get("/settings/retention/").content.decode()
    assert "Recent runs (audit)" in page
    assert f"{PREFIX}-2009.01.05" in page
    assert "command" in page


def test_the_dashboard_shows_storage_used_per_user_after_the_run(scenario):
    mine = client_for(ANA_ID, "ana").get("/api/dashboard").json()
    assert mine["storage"] == [
        # Inside the window: two card rows and one streamed event today; the running job's two rows and file.
        {
            "owner_id": ANA_ID,
            "documents": 5,
            "bytes": mine["storage"][0]["bytes"],
            "jobs": 4,
            "files": 2,
            "file_bytes": mine["storage"][0]["file_bytes"],
            "dead_letters": 0,
        }
    ]
    assert mine["storage"][0]["bytes"] > 0
    assert mine["retention"] is None
    board = client_for(STAFF_ID, "chief", staff=True).get("/api/dashboard").json()
    rows = {row["owner_id"]: row for row in board["storage"]}
    assert rows[BRUNO_ID]["documents"] == 3 + 1  # the old upload and the old streamed event: no policy
    assert rows[BRUNO_ID]["files"] == 1
    assert board["retention"]["steps"] == 0  # the second run found nothing left to delete
