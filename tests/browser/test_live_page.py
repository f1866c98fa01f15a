"""The live page in a real browser: events uploaded after it was opened appear on their own; pause holds them."""

import orjson
import pytest
from playwright.sync_api import Page, expect
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.browser.conftest import screenshot, sign_in
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload

pytestmark = pytest.mark.django_db(transaction=True)
INDEXED_TIMEOUT = 60_000  # ms: waiting for the real worker to index, not a speed check


def uploader(user) -> APIClient:
    """The upload API with the signed-in user's own token, as a script of theirs would call it."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def send_lines(client: APIClient, name: str, start: int, count: int) -> str:
    """Upload `count` real access-log lines, from line `start` of the shared file; returns the file id."""
    lines = data_lines(WEB_ACCESS_LOGS.name, start + count).splitlines(keepends=True)[start:]
    response = upload(client, name, b"".join(lines))
    assert response.status_code == 201, response.json()
    return response.json()["data"]["file_id"]


def open_live(page: Page, path: str = "/live/") -> None:
    page.goto(path)
    expect(page.locator("#live-state")).to_have_text("Live: new events appear below as they are indexed.")


def test_events_uploaded_after_the_page_opened_appear_newest_first_and_pause_holds_them(page, celery_worker, member):
    sign_in(page, "maria")
    open_live(page)
    expect(page.locator("#live-empty")).to_be_visible()
    rows = page.locator("#live-events > li")
    client = uploader(member)

    first = send_lines(client, "first.ndjson", 0, 12)

    expect(rows).to_have_count(12, timeout=INDEXED_TIMEOUT)
    expect(page.locator("#live-empty")).to_be_hidden()
    # Newest at the top: the file's last line first.
    expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/search/events/{first}:12/")
    expect(rows.last.get_by_role("link")).to_have_attribute("href", f"/search/events/{first}:1/")
    expect(rows.first).to_contain_text("access")
    screenshot(page, "live-page")

    page.get_by_role("button", name="Pause").click()
    second = send_lines(client, "second.ndjson", 12, 5)
    held = page.locator("#live-held")
    expect(held).to_have_text("Paused: 5 new events waiting. Resume to show them.", timeout=INDEXED_TIMEOUT)
    expect(rows).to_have_count(12)
    screenshot(page, "live-page-paused")

    page.get_by_role("button", name="Resume").click()

    expect(rows).to_have_count(17)
    expect(held).to_be_hidden()
    expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/search/events/{second}:5/")
    expect(page.get_by_role("status")).to_have_text("Showing 5 events that arrived while paused.")

    third = send_lines(client, "third.ndjson", 17, 600)

    # The page keeps the latest 500: the oldest dropped off the bottom.
    expect(rows.first.get_by_role("link")).to_have_attribute(
        "href", f"/search/events/{third}:600/", timeout=INDEXED_TIMEOUT
    )
    expect(rows).to_have_count(500)
    expect(rows.last.get_by_role("link")).to_have_attribute("href", f"/search/events/{third}:101/")


def test_the_live_page_filters_like_search_fits_375_px_and_pauses_by_keyboard(phone, celery_worker, member):
    sign_in(phone, "maria")
    open_live(phone, "/live/?status=404")
    rows = phone.locator("#live-events > li")

    lines = data_lines(WEB_ACCESS_LOGS.name, 400).splitlines()
    not_found = [number for number, line in enumerate(lines, 1) if orjson.loads(line)["response"] == 404]

    file_id = send_lines(uploader(member), "access.ndjson", 0, 400)

    expect(rows).to_have_count(len(not_found), timeout=INDEXED_TIMEOUT)
    expect(phone.get_by_role("list", name="Other filters")).to_contain_text("status = 404")
    links = rows.get_by_role("link").evaluate_all("links => links.map(link => link.getAttribute('href'))")
    assert links == [f"/search/events/{file_id}:{number}/" for number in reversed(not_found)]
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    screenshot(phone, "live-page-375")

    phone.get_by_role("button", name="Pause").focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("button", name="Resume")).to_be_focused()


def test_a_query_search_would_refuse_is_explained_on_the_page(page, member):
    sign_in(page, "maria")
    page.goto('/live/?q="unclosed')

    expect(page.get_by_role("alert")).to_have_text('Query syntax: a phrase is opened with " but never closed')
    expect(page.locator("#live-events")).to_have_count(0)
