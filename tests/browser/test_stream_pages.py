"""A stream in a real browser: it appears beside the uploads, its page counts what a shipper sends and keeps up."""

import base64
import urllib.request

import pytest
from playwright.sync_api import Page, expect
from rest_framework.authtoken.models import Token

from tests.browser.conftest import screenshot, sign_in
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 60_000  # ms: for the real worker and the page's own refresh, not a speed check

LINES = data_lines(WEB_ACCESS_LOGS.name, 30)


def ship(base_url: str, key: str, body: bytes, stream: str) -> int:
    """Send lines as a shipper does: Basic auth with the key as the password."""
    request = urllib.request.Request(  # noqa: S310 - the test's own live server
        f"{base_url}/api/ingest?stream={stream}", data=body, method="POST"
    )
    request.add_header("Authorization", "Basic " + base64.b64encode(f"shipper:{key}".encode()).decode())
    request.add_header("Content-Type", "application/x-ndjson")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test's own live server
        return response.status


def test_a_stream_is_listed_with_the_jobs_and_its_page_follows_what_arrives(
    page: Page, phone: Page, live_server, celery_worker, member
):
    key = Token.objects.create(user=member).key
    assert ship(live_server.url, key, LINES[:20_000].rpartition(b"\n")[0] + b"\n", "checkout") == 202
    sign_in(page, "maria")

    page.get_by_role("link", name="Jobs", exact=True).click()
    row = page.locator("#stream-rows tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("checkout")
    screenshot(page, "job-list-with-stream")

    page.get_by_role("link", name="checkout").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Stream checkout")).to_be_visible()
    expect(page.locator("[data-count='indexed']")).not_to_have_text("0", timeout=WAIT)
    received = int(page.locator("[data-count='received']").inner_text())
    expect(page.locator("#last-events tbody tr")).not_to_have_count(0, timeout=WAIT)

    assert ship(live_server.url, key, LINES[-3000:].partition(b"\n")[2] + b"not an event\n", "checkout") == 202

    # The page refreshes itself: the new lines and the rejected one show without a reload.
    expect(page.locator("[data-count='dead_lettered']")).to_have_text("1", timeout=WAIT)
    expect(page.locator("[data-count='received']")).not_to_have_text(str(received), timeout=WAIT)
    expect(page.locator("#stream-invariant")).to_contain_text("every line accounted for")
    expect(page.locator("#dead-letter-table tbody tr")).to_have_count(1)
    screenshot(page, "stream-page")

    sign_in(phone, "maria")
    phone.goto(page.url)
    expect(phone.get_by_role("heading", name="Stream checkout")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "stream-page-phone")
