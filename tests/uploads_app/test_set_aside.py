"""Set-aside rows (read, but refused by Elasticsearch): shown on the job API, downloadable, and re-indexed once
today's rules read them right, through the real pipeline, worker and servers."""

import csv
import io

import pytest
from django.test import Client

from ingestion import repository as ingestion_repo
from tests.conftest import wait_until
from tests.helpers import (
    ISSUE_ROWS,
    count_documents,
    documents_of,
    fallback_documents,
    job_set_aside_under_old_rules,
    retail_csv,
    retail_rows,
    upload_and_wait,
    worker_paused,
)

pytestmark = pytest.mark.django_db(transaction=True)
CLASH = "document_parsing_exception"


@pytest.fixture
def prices_are_numbers(celery_worker, api_client):
    """The usual export of the issue's line items first: their days then hold UnitPrice as a number."""
    _, job = upload_and_wait(api_client, "issue.csv", retail_csv(ISSUE_ROWS))
    assert job["counts"]["indexed"] == 40


@pytest.fixture
def old_job(prices_are_numbers, api_client) -> dict:
    job = job_set_aside_under_old_rules(api_client)
    assert job["counts"] == {"total_lines": 40, "indexed": 2, "dead_lettered": 0, "fallback": 38, "skipped_blank": 0}
    return job


def reindexed(client, job_id: str) -> dict:
    """The job once its last re-index has finished (polled, not timed)."""
    return wait_until(
        lambda: (job := client.get(f"/api/logs/jobs/{job_id}").json())["reindex"]["status"] != "queued" and job
    )


def pounds_export(numbers: tuple[int, ...] = ISSUE_ROWS, prices: tuple[str, ...] = ("3.75", "18")) -> bytes:
    """Retail line items where a UK spreadsheet's currency format wrote some prices as text (£3.75, £18.00),
    which today's rules do not read as numbers either (all of them when `prices` is empty)."""
    rows = retail_rows(numbers)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        price = row["UnitPrice"]
        pounds = not prices or price in prices
        writer.writerow(row | {"UnitPrice": f"£{float(price):.2f}" if pounds else price})
    return out.getvalue().encode()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_set_aside_rows_are_on_the_job_api_with_their_reason(old_job, api_client):
    job = api_client.get(f"/api/logs/jobs/{old_job['job_id']}").json()

    assert job["status"] == "completed_with_errors"
    set_aside = job["set_aside"]
    assert set_aside["count"] == 38
    assert set_aside["download"] == f"/jobs/{old_job['job_id']}/set-aside.csv"
    assert [row["line"] for row in set_aside["rows"]] == [
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        17,
        18,
        19,
        20,
        22,
    ]
    first = set_aside["rows"][0]
    assert first["raw"] == "536370;22728;ALARM CLOCK BAKELIKE PINK;24;12/1/2010 8:45;3,75;12583;France"
    assert first["reason"].startswith(CLASH) and "UnitPrice" in first["reason"]
    assert job["rejected"] == {"count": 0, "rows": [], "download": f"/jobs/{old_job['job_id']}/dead-letters.csv"}
    assert job["reindex"] is None


def test_set_aside_rows_download_as_a_csv_beside_the_rejected_ones(old_job, user):
    response = signed_in(user).get(f"/jobs/{old_job['job_id']}/set-aside.csv")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="issue_fr-set-aside-rows.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["line", "reason", "raw"]
    assert len(rows) == 39
    assert [int(row[0]) for row in rows[1:]] == [line for line in range(2, 42) if line not in (21, 28)]
    assert all(row[1].startswith(CLASH) for row in rows[1:])
    assert rows[-1][2] == "536974;22080;RIBBON REEL POLKADOTS ;10;12/3/2010 13:59;1,65;12682;France"


def test_another_user_cannot_see_or_reindex_the_set_aside_rows(old_job, other_client, django_user_model):
    job_id = old_job["job_id"]
    stranger = django_user_model.objects.create_user(id=4_242_424_242, username="nosy", password="a-long-password")

    assert signed_in(stranger).get(f"/jobs/{job_id}/set-aside.csv").status_code == 404
    assert other_client.post(f"/api/logs/jobs/{job_id}/reindex-fallback").status_code == 404
    assert len(fallback_documents(old_job["file_id"])) == 38


def test_a_reindex_moves_the_rows_set_aside_under_the_old_rules_into_the_daily_indices(old_job, api_client):
    job_id, file_id = old_job["job_id"], old_job["file_id"]
    # Asked before, the job's analytics are cached: a re-index must make them count the moved rows.
    assert api_client.get("/api/analytics/summary", {"job_id": job_id}).json()["events"] == 2

    response = api_client.post(f"/api/logs/jobs/{job_id}/reindex-fallback")

    assert response.status_code == 202
    assert response.json()["reindex"]["status"] == "queued"
    job = reindexed(api_client, job_id)
    assert job["reindex"]["status"] == "done"
    assert (job["reindex"]["moved"], job["reindex"]["still_set_aside"]) == (38, 0)
    assert job["status"] == "completed"
    assert job["counts"] == {"total_lines": 40, "indexed": 40, "dead_lettered": 0, "fallback": 0, "skipped_blank": 0}
    assert job["field_types"]["UnitPrice"] == "decimal_comma"
    assert job["set_aside"] == {"count": 0, "rows": [], "download": f"/jobs/{job_id}/set-aside.csv"}
    assert job["errors"] == []
    assert fallback_documents(file_id) == []
    assert count_documents(file_id) == 40  # the same ids: moved, not copied
    assert api_client.get("/api/analytics/summary", {"job_id": job_id}).json()["events"] == 40
    documents = documents_of(file_id)
    prices = [float(row["UnitPrice"]) for row in retail_rows(ISSUE_ROWS)]
    # The two rows indexed at upload keep the text "18" in their source (Elasticsearch indexed it as the number).
    assert [float(document["UnitPrice"]) for document in documents] == prices
    assert all(type(document["UnitPrice"]) is float for document in documents if document["line"] not in (21, 28))
    assert documents[0]["amount"] == 90.0
    # Built as the pipeline builds them: a moved row has the very fields of one indexed at upload (line 21).
    assert set(documents[0]) == set(documents[19])

    again = api_client.post(f"/api/logs/jobs/{job_id}/reindex-fallback")
    assert again.status_code == 409
    assert again.json() == {"success": False, "error": "This job has no set-aside rows to re-index"}


def test_rows_whose_values_still_clash_stay_set_aside_with_their_reason(prices_are_numbers, api_client):
    data, job = upload_and_wait(api_client, "issue_pounds.csv", pounds_export())
    clashing = job["counts"]["fallback"]
    assert clashing == 6 and job["counts"]["indexed"] == 34

    assert api_client.post(f"/api/logs/jobs/{data['job_id']}/reindex-fallback").status_code == 202
    job = reindexed(api_client, data["job_id"])

    assert job["reindex"]["status"] == "done"
    assert (job["reindex"]["moved"], job["reindex"]["still_set_aside"]) == (0, clashing)
    assert job["counts"]["fallback"] == clashing and job["counts"]["indexed"] == 34
    assert job["status"] == "completed_with_errors"
    rows = job["set_aside"]["rows"]
    assert [row["raw"].split(",")[5] for row in rows] == ["£3.75"] * 4 + ["£18.00"] * 2
    assert all(row["reason"].startswith(CLASH) for row in rows)
    assert len(fallback_documents(data["file_id"])) == clashing


def test_while_a_reindex_runs_the_job_takes_no_other_change(old_job, api_client):
    job_id = old_job["job_id"]
    with worker_paused():
        assert api_client.post(f"/api/logs/jobs/{job_id}/reindex-fallback").status_code == 202
        busy = "Another change to this job (a retry, a re-index or a deletion) is under way; try again when it is done"
        for response in (
            api_client.post(f"/api/logs/jobs/{job_id}/reindex-fallback"),
            api_client.post(f"/api/logs/jobs/{job_id}/retry"),
            api_client.delete(f"/api/logs/uploads/{old_job['file_id']}"),
        ):
            assert (response.status_code, response.json()["error"]) == (409, busy)

    job = reindexed(api_client, job_id)
    assert job["reindex"]["moved"] == 38
    assert job["attempt"] == 1
    assert api_client.post(f"/api/logs/jobs/{job_id}/retry").status_code == 202


def test_a_running_job_or_one_without_set_aside_rows_is_not_reindexed(prices_are_numbers, api_client):
    data, _job = upload_and_wait(api_client, "clean.csv", retail_csv(ISSUE_ROWS))

    response = api_client.post(f"/api/logs/jobs/{data['job_id']}/reindex-fallback")

    assert (response.status_code, response.json()["error"]) == (409, "This job has no set-aside rows to re-index")
    assert ingestion_repo.job_get(data["job_id"]).reindex is None


def test_the_job_page_pages_through_set_aside_rows_fifty_at_a_time(celery_worker, api_client, user):
    numbers = tuple(range(120))
    upload_and_wait(api_client, "first_120.csv", retail_csv(numbers))
    data, job = upload_and_wait(api_client, "first_120_pounds.csv", pounds_export(numbers, prices=()))
    assert job["counts"]["fallback"] == 120
    assert (job["status"], job["reason"]) == ("failed", "No line could be indexed")
    browser = signed_in(user)

    pages = [browser.get(f"/jobs/{data['job_id']}/?aside_page={page}").content.decode() for page in (1, 2, 3)]

    assert "Set-aside rows (120)" in pages[0]
    assert "Page 1 of 3" in pages[0] and "Page 3 of 3" in pages[2]
    tables = [page.split('id="set-aside-table"')[1].split("</table>")[0] for page in pages]
    assert [table.split('<td class="num">')[1].split("<")[0] for table in tables] == ["2", "52", "102"]
    assert [table.count(CLASH) for table in tables] == [50, 50, 20]
    assert "Re-index set-aside rows" in pages[0]


def test_a_set_aside_row_that_starts_like_a_formula_is_neutralised_in_the_csv(prices_are_numbers, api_client, user):
    content = (
        "note,InvoiceDate,UnitPrice\n"
        "=cmd|' /C calc'!A0,12/1/2010 8:45,£3.75\n"
        "-2+3,12/1/2010 8:46,£0.85\n"
        "gift wrap,12/1/2010 8:47,1.25\n"
    ).encode()
    data, job = upload_and_wait(api_client, "notes.csv", content)
    assert (job["counts"]["indexed"], job["counts"]["fallback"]) == (1, 2)

    response = signed_in(user).get(f"/jobs/{data['job_id']}/set-aside.csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[2] for row in rows[1:]] == [
        "'=cmd|' /C calc'!A0,12/1/2010 8:45,£3.75",
        "'-2+3,12/1/2010 8:46,£0.85",
    ]
