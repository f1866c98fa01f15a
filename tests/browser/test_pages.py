"""The web product in a real browser: sign in, batch upload with progress, live jobs, dead letters, admin."""

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import fresh_user_id
from tests.datafiles import FRAUD_TRANSACTIONS, ONLINE_RETAIL_FRANCE
from tests.helpers import data_lines, worker_paused

pytestmark = pytest.mark.django_db(transaction=True)
JOB_TIMEOUT = 180_000  # ms: waiting for the real worker, not a speed check

# Real access-log rows with four broken lines; two of the broken ones start like spreadsheet formulas.
MALFORMED = b"".join(
    [
        *data_lines("web_access_logs.ndjson", 3).splitlines(keepends=True),
        b'=HYPERLINK("http://evil.example","click")\n',
        b'{"timestamp": "2018-07-22T01:00:00Z", "clientip": \n',
        b"@SUM(1+1)\n",
        b'{"clientip": "8.8.8.8"}\n',
    ]
)


def upload_item(page: Page, filename: str):
    return page.locator(".upload-item").filter(has=page.locator(".name", has_text=filename))


def upload_one(page: Page, path) -> str:
    """Upload a file through the page and wait for its job to finish; returns the job id."""
    page.goto("/uploads/")
    page.locator("#files").set_input_files(str(path))
    item = upload_item(page, path.name)
    expect(item).to_have_attribute("data-status", "completed_with_errors", timeout=JOB_TIMEOUT)
    return item.get_attribute("data-job-id")


def test_a_batch_upload_shows_progress_refuses_the_txt_and_follows_both_jobs_live(
    page, celery_worker, member, tmp_path
):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a log export\n")
    sign_in(page, "maria")
    expect(page.get_by_role("heading", name="Upload log files")).to_be_visible()
    expect(page.locator("#upload-rules")).to_contain_text("100 MB")
    expect(page.locator("#upload-rules")).to_contain_text(".ndjson")
    screenshot(page, "upload-page")

    page.locator("#files").set_input_files([str(ONLINE_RETAIL_FRANCE), str(FRAUD_TRANSACTIONS), str(notes)])

    refused = upload_item(page, "notes.txt")
    expect(refused.locator(".state")).to_have_text(
        "Refused: File extension '.txt' not allowed. Accepted: .csv, .json, .ndjson, .jsonl, .log, .csv.gz, .json.gz, "
        ".ndjson.gz, .jsonl.gz, .log.gz. Save a spreadsheet as CSV, or export the logs as NDJSON."
    )
    for path in (ONLINE_RETAIL_FRANCE, FRAUD_TRANSACTIONS):
        item = upload_item(page, path.name)
        expect(item.locator(".upload-bar")).to_have_attribute("aria-valuenow", "100")
        expect(item).to_have_attribute("data-status", "completed", timeout=JOB_TIMEOUT)
        expect(item.locator(".job-bar")).to_have_attribute("aria-valuenow", "100")
        expect(item.get_by_role("link", name="Open job")).to_be_visible()
    expect(upload_item(page, "fraud_transactions_2k.csv").locator(".state")).to_contain_text(
        "1,611 of 1,611 lines indexed"
    )
    screenshot(page, "upload-page-after-batch")

    page.get_by_role("link", name="Jobs", exact=True).click()
    rows = page.locator("#job-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#job-rows .badge[data-status='completed']")).to_have_count(2)
    screenshot(page, "job-list")

    page.get_by_role("link", name="fraud_transactions_2k.csv").click()
    expect(page.get_by_role("heading", name="fraud_transactions_2k.csv")).to_be_visible()
    expect(page.locator("#job-status")).to_have_text("Completed")
    expect(page.locator("[data-count='indexed']")).to_have_text("1,611")
    expect(page.locator("#job-invariant")).to_contain_text("every line accounted for")
    expect(page.locator("#preview-table tbody tr")).to_have_count(10)
    expect(page.locator("#preview-table thead")).to_contain_text("EVENT_TIMESTAMP")
    expect(page.locator("#preview-table thead th").nth(1)).to_contain_text("timestamp")
    expect(page.locator("#field-types")).to_contain_text("order_price")
    screenshot(page, "job-page")


def test_a_job_list_updates_live_while_a_job_runs(page, celery_worker, member):
    sign_in(page, "maria")
    page.goto("/jobs/")
    expect(page.get_by_text("No uploads yet.")).to_be_visible()
    screenshot(page, "job-list-empty")

    with worker_paused():
        page.goto("/uploads/")
        page.locator("#files").set_input_files(str(ONLINE_RETAIL_FRANCE))
        expect(upload_item(page, ONLINE_RETAIL_FRANCE.name)).to_have_attribute("data-uploaded", "true")
        page.goto("/jobs/")
        expect(page.locator("#job-rows .badge[data-status='pending']")).to_have_count(1)
        expect(page.locator("#job-rows")).to_have_attribute("hx-trigger", "every 2s")
        page.evaluate("window.notReloaded = true")
        screenshot(page, "job-list-pending")

    expect(page.locator("#job-rows .badge[data-status='completed']")).to_have_count(1, timeout=JOB_TIMEOUT)
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#job-rows tbody tr td.num").first).to_have_text("8,557")
    expect(page.locator("#job-rows")).not_to_have_attribute("hx-trigger", "every 2s")


def test_dead_letters_are_listed_and_download_as_a_formula_safe_csv(page, celery_worker, member, tmp_path):
    broken = tmp_path / "broken_access.ndjson"
    broken.write_bytes(MALFORMED)
    sign_in(page, "maria")

    job_id = upload_one(page, broken)
    page.goto(f"/jobs/{job_id}/")

    expect(page.locator("#job-status")).to_have_text("Completed with rejected or set-aside rows")
    expect(page.get_by_role("heading", name="Rejected rows (4)")).to_be_visible()
    table = page.locator("#dead-letter-table tbody tr")
    expect(table).to_have_count(4)
    expect(table.first).to_contain_text('=HYPERLINK("http://evil.example","click")')
    screenshot(page, "job-page-dead-letters")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download rejected rows (CSV)").click()
    download = download_info.value
    rows = list(csv.reader(io.StringIO(download.path().read_text())))

    assert download.suggested_filename == "broken_access-rejected-rows.csv"
    assert rows[0] == ["line", "reason", "raw"]
    assert [row[0] for row in rows[1:]] == ["4", "5", "6", "7"]
    assert rows[1][2] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[3][2] == "'@SUM(1+1)"
    assert rows[2][2] == '{"timestamp": "2018-07-22T01:00:00Z", "clientip": '
    assert "timestamp" in rows[4][1]


def test_retry_and_delete_from_the_job_page_ask_first_then_report(page, celery_worker, member, tmp_path):
    broken = tmp_path / "retry_me.ndjson"
    broken.write_bytes(MALFORMED)
    sign_in(page, "maria")
    job_id = upload_one(page, broken)
    page.goto(f"/jobs/{job_id}/")

    page.get_by_role("link", name="Retry", exact=True).click()
    expect(page.get_by_role("heading", name="Run this job again?")).to_be_visible()
    screenshot(page, "job-retry-confirm")
    page.get_by_role("button", name="Retry job").click()
    expect(page.locator(".messages")).to_contain_text("Retry of retry_me.ndjson queued.")
    expect(page.locator("#job-status")).to_have_text("Completed with rejected or set-aside rows", timeout=JOB_TIMEOUT)
    expect(page.locator("#job-live")).to_contain_text("attempt 2")

    page.get_by_role("link", name="Delete", exact=True).click()
    page.get_by_role("button", name="Delete upload").click()
    expect(page).to_have_url("/jobs/")
    expect(page.locator(".messages")).to_contain_text("Deleted retry_me.ndjson and its 3 indexed documents.")
    assert page.goto(f"/jobs/{job_id}/").status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_staff_run_the_admin_upload_jobs_pages(page, celery_worker, member, staff, tmp_path):
    broken = tmp_path / "admin_view.ndjson"
    broken.write_bytes(MALFORMED)
    sign_in(page, "maria")
    job_id = upload_one(page, broken)
    page.context.clear_cookies()

    sign_in(page, "olga")
    page.goto("/admin/")
    page.get_by_role("link", name="Upload jobs").click()
    expect(page.locator("#result_list")).to_contain_text("admin_view.ndjson")
    page.locator("#searchbar").fill("admin_view")
    page.locator("#searchbar").press("Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("maria")
    screenshot(page, "admin-upload-jobs")

    page.locator("#changelist-filter").get_by_role("link", name="Failed").click()
    expect(page.locator("#result_list")).to_contain_text("No upload job matches.")
    page.locator("#changelist-filter").get_by_role("link", name="Completed with rejected or set-aside rows").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)

    page.get_by_role("link", name="admin_view.ndjson").click()
    expect(page.locator("#content")).to_contain_text(job_id)
    expect(page.locator("#content")).to_contain_text("Rejected rows (4)")
    screenshot(page, "admin-upload-job")
    page.get_by_role("button", name="Retry job").click()
    expect(page.locator(".messagelist")).to_contain_text("Retry of “admin_view.ndjson” queued.")
    expect(page.locator("#admin-job-status")).to_contain_text("attempt 2")


def test_anonymous_visits_go_to_sign_in_and_another_users_job_is_not_found(
    page, celery_worker, member, django_user_model, tmp_path
):
    for path in ("/", "/uploads/", "/jobs/", "/search/", "/api/docs/"):
        page.goto(path)
        expect(page).to_have_url(f"/accounts/login/?next={path}" if path != "/" else "/accounts/login/")
    screenshot(page, "sign-in")

    broken = tmp_path / "private.ndjson"
    broken.write_bytes(MALFORMED)
    sign_in(page, "maria")
    job_id = upload_one(page, broken)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/accounts/login/")

    django_user_model.objects.create_user(id=fresh_user_id(), username="intruder", password="a-long-browser-password")
    sign_in(page, "intruder")
    for path in (f"/jobs/{job_id}/", f"/jobs/{job_id}/dead-letters.csv", f"/jobs/{job_id}/retry"):
        assert page.goto(path).status == 404, path
    screenshot(page, "not-found")


def test_pages_fit_a_375_px_screen_and_work_by_keyboard(phone, celery_worker, member):
    sign_in(phone, "maria")
    for path, name in (("/uploads/", "upload-page-375"), ("/jobs/", "job-list-375")):
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
        screenshot(phone, name)

    phone.goto("/uploads/")
    phone.keyboard.press("Tab")
    expect(phone.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(20):
        phone.keyboard.press("Tab")
        if phone.evaluate("document.activeElement.id") == "files":
            break
    assert phone.evaluate("document.activeElement.id") == "files"
