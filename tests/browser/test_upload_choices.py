"""The upload page's choices in a real browser: the log type for files still waiting, sizes in bytes and KB, and
a file uploaded before asking first; and the job page's set-aside rows with their re-index."""

import csv
import io

import pytest
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from tests.browser.conftest import screenshot, sign_in
from tests.datafiles import FRAUD_TRANSACTIONS
from tests.helpers import ISSUE_ROWS, data_lines, job_set_aside_under_old_rules, retail_csv, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)
JOB_TIMEOUT = 180_000  # ms: waiting for the real worker, not a speed check


def items(page: Page, filename: str):
    """The page's entries for a file, newest first."""
    return page.locator(".upload-item").filter(has=page.locator(".name", has_text=filename))


def job_of(page: Page, job_id: str) -> dict:
    return page.request.get(f"/api/logs/jobs/{job_id}").json()


def slow_uploads(page: Page) -> None:
    """Uploads crawl (40 KB/s), so the files after the first two wait their turn while the test acts."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 40_000},
    )


def test_the_log_type_chosen_applies_to_files_still_waiting_and_to_files_chosen_after(
    page, celery_worker, member, tmp_path
):
    paths = []
    for name, lines in (("first.ndjson", 120), ("second.ndjson", 121), ("third.ndjson", 122), ("fourth.ndjson", 5)):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data_lines("web_access_logs.ndjson", lines))
    sign_in(page, "maria")
    page.goto("/uploads/")
    expect(page.locator("#log-type-hint")).to_have_text(
        "Applies to the files you choose next and to those still waiting."
    )
    slow_uploads(page)

    page.locator("#files").set_input_files([str(path) for path in paths[:3]])
    third = items(page, "third.ndjson")
    expect(third).to_have_attribute("data-status", "waiting")
    expect(third.locator(".log-type")).to_have_text("Log type: detected from the fields")
    page.get_by_label("Log type").select_option("order")
    expect(third.locator(".log-type")).to_have_text("Log type: Orders")
    expect(items(page, "first.ndjson").locator(".log-type")).to_have_text("Log type: detected from the fields")
    screenshot(page, "upload-log-type-waiting")
    page.locator("#files").set_input_files(str(paths[3]))
    expect(items(page, "fourth.ndjson").locator(".log-type")).to_have_text("Log type: Orders")

    log_types = {}
    for path in paths:
        item = items(page, path.name)
        expect(item).to_have_attribute("data-status", "completed", timeout=JOB_TIMEOUT)
        log_types[path.name] = job_of(page, item.get_attribute("data-job-id"))["log_type"]
    assert log_types == {
        "first.ndjson": "access",
        "second.ndjson": "access",
        "third.ndjson": "order",
        "fourth.ndjson": "order",
    }


def test_small_files_show_bytes_or_kb_not_0_mb(page, celery_worker, member, tmp_path):
    tiny = tmp_path / "tiny.csv"
    tiny.write_bytes(b"timestamp,amount\n2024-05-01T10:00:00Z,12.5\n")
    small = tmp_path / "small.ndjson"
    small.write_bytes(data_lines("web_access_logs.ndjson", 12))
    sign_in(page, "maria")
    page.goto("/uploads/")

    page.locator("#files").set_input_files([str(tiny), str(small), str(FRAUD_TRANSACTIONS)])

    expect(items(page, "tiny.csv").locator(".size")).to_have_text(f"{tiny.stat().st_size} bytes")
    kilobytes = f"{small.stat().st_size / 1024:.1f}".removesuffix(".0")
    expect(items(page, "small.ndjson").locator(".size")).to_have_text(f"{kilobytes} KB")
    expect(items(page, FRAUD_TRANSACTIONS.name).locator(".size")).to_have_text("602.1 KB")
    screenshot(page, "upload-sizes")


def test_a_file_uploaded_before_asks_first_cancel_keeps_no_job_and_index_again_makes_one(
    page, celery_worker, member, tmp_path
):
    path = tmp_path / "orders.ndjson"
    path.write_bytes(data_lines("ecommerce_orders.ndjson", 12))
    sign_in(page, "maria")
    page.goto("/uploads/")
    page.locator("#files").set_input_files(str(path))
    first = items(page, "orders.ndjson").first
    expect(first).to_have_attribute("data-status", "completed", timeout=JOB_TIMEOUT)
    first_job = first.get_attribute("data-job-id")

    page.locator("#files").set_input_files(str(path))
    asked = page.locator(".upload-item").first
    expect(asked).to_have_attribute("data-status", "duplicate")
    expect(asked.locator(".state")).to_contain_text("You uploaded this file before")
    expect(asked.get_by_role("link", name="its job")).to_have_attribute("href", f"/jobs/{first_job}/")
    screenshot(page, "upload-duplicate-question")
    asked.get_by_role("button", name="Cancel").click()
    expect(asked).to_have_attribute("data-status", "cancelled")
    expect(asked.locator(".state")).to_contain_text("Cancelled: not uploaded again.")
    assert page.request.get("/api/logs/uploads").json()["count"] == 1

    page.locator("#files").set_input_files(str(path))
    asked = page.locator(".upload-item").first
    expect(asked).to_have_attribute("data-status", "duplicate")
    asked.get_by_role("button", name="Index again").focus()
    page.keyboard.press("Enter")
    expect(asked).to_have_attribute("data-status", "completed", timeout=JOB_TIMEOUT)
    second_job = asked.get_attribute("data-job-id")
    assert second_job != first_job
    assert page.request.get("/api/logs/uploads").json()["count"] == 2


def test_the_job_page_lists_set_aside_rows_and_reindexes_them_after_asking(page, celery_worker, member):
    client = APIClient()
    client.force_authenticate(member)
    upload_and_wait(client, "issue.csv", retail_csv(ISSUE_ROWS))
    job = job_set_aside_under_old_rules(client)
    sign_in(page, "maria")
    page.goto(f"/jobs/{job['job_id']}/")

    expect(page.locator("#job-status")).to_have_text("Completed with rejected or set-aside rows")
    expect(page.locator("#job-invariant")).to_contain_text("2 indexed + 0 rejected + 38 set aside + 0 skipped blank")
    expect(page.get_by_role("heading", name="Rejected rows (0)")).to_be_visible()
    expect(page.get_by_role("heading", name="Set-aside rows (38)")).to_be_visible()
    rows = page.locator("#set-aside-table tbody tr")
    expect(rows).to_have_count(38)
    expect(rows.first).to_contain_text("document_parsing_exception")
    expect(rows.first).to_contain_text("536370;22728;ALARM CLOCK BAKELIKE PINK;24;12/1/2010 8:45;3,75;12583;France")
    screenshot(page, "job-page-set-aside")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download set-aside rows (CSV)").click()
    download = download_info.value
    lines = list(csv.reader(io.StringIO(download.path().read_text())))
    assert download.suggested_filename == "issue_fr-set-aside-rows.csv"
    assert (lines[0], len(lines)) == (["line", "reason", "raw"], 39)

    page.get_by_role("link", name="Re-index set-aside rows").click()
    expect(page.get_by_role("heading", name="Re-index the set-aside rows?")).to_be_visible()
    screenshot(page, "job-reindex-confirm")
    page.get_by_role("button", name="Re-index set-aside rows").click()

    expect(page.locator(".messages")).to_contain_text("Re-indexing the 38 set-aside rows of issue_fr.csv")
    outcome = page.locator("#reindex-outcome")
    expect(outcome).to_have_attribute("data-status", "done", timeout=JOB_TIMEOUT)
    expect(outcome).to_contain_text("38 rows moved into the daily indices, 0 still set aside.")
    expect(page.locator("#job-status")).to_have_text("Completed")
    expect(page.locator("[data-count='indexed']")).to_have_text("40")
    expect(page.get_by_role("heading", name="Set-aside rows (0)")).to_be_visible()
    expect(page.get_by_role("link", name="Re-index set-aside rows")).to_have_count(0)
    screenshot(page, "job-page-reindexed")
