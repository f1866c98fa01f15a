"""Layout in a real browser: the navigation folds into a menu at 375 px, a phone sees the first search result
without scrolling, and the job lists fit a 1366 px screen with status, counts and uploader in view."""

import pytest
from playwright.sync_api import Browser, Page, expect
from rest_framework.test import APIClient

from tests.browser.conftest import screenshot, sign_in
from tests.datafiles import ECOMMERCE_ORDERS, ONLINE_RETAIL_FRANCE, WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)

# File names as exports come out of shops and servers: long, with dates and no spaces to wrap at.
LONG_NAMES = (
    "online_retail_france_export_2010-12-01_to_2011-12-09_all_customers_all_invoices_final_v2.csv",
    "nginx_access_frontend-eu-west-1_2018-07-22T00-00-00Z_2018-09-20T23-59-59Z_part-0001-of-0012.ndjson",
)


@pytest.fixture
def jobs_of_maria(celery_worker, member):
    client = APIClient()
    client.force_authenticate(member)
    retail = data_lines(ONLINE_RETAIL_FRANCE.name, 301)
    broken_logs = data_lines(WEB_ACCESS_LOGS.name, 200) + b'{"timestamp": "2018-07-22T01:00:00Z", "clientip": \n'
    for name, content in ((LONG_NAMES[0], retail), (LONG_NAMES[1], broken_logs)):
        upload_and_wait(client, name, content)
    return upload_and_wait(client, "orders.ndjson", data_lines(ECOMMERCE_ORDERS.name, 60))[0]


@pytest.fixture
def laptop(browser: Browser, live_server) -> Page:
    """A 1366 x 768 screen, the most common laptop size."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def uncovered_on_screen(page: Page, selector: str) -> bool:
    """The element's middle is inside the window and nothing else (a sidebar, a panel) is drawn over it."""
    return page.locator(selector).first.evaluate(
        """element => {
            const box = element.getBoundingClientRect();
            const x = box.left + box.width / 2, y = box.top + box.height / 2;
            const top = document.elementFromPoint(x, y);
            return box.right <= window.innerWidth && top !== null && element.contains(top);
        }"""
    )


def test_at_375_px_the_navigation_folds_into_a_menu_that_works_by_keyboard(phone, member):
    sign_in(phone, "maria")
    phone.goto("/search/")
    menu = phone.get_by_role("button", name="Menu")
    nav = phone.get_by_role("navigation", name="Main")

    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Analytics")).to_be_hidden()
    expect(phone.get_by_role("button", name="Sign out")).to_be_hidden()
    assert phone.locator(".site-header").bounding_box()["height"] < 80
    screenshot(phone, "navigation-375-folded")

    for _ in range(5):
        phone.keyboard.press("Tab")
        if phone.evaluate("document.activeElement.getAttribute('aria-controls')") == "site-menu":
            break
    expect(menu).to_be_focused()
    phone.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Analytics")).to_be_visible()
    phone.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Upload")).to_be_focused()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "navigation-375-open")

    phone.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(nav.get_by_role("link", name="Analytics")).to_be_hidden()

    menu.click()
    nav.get_by_role("link", name="Jobs").click()
    expect(phone).to_have_url("/jobs/")
    expect(phone.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")


def test_on_a_wide_screen_the_navigation_shows_every_link_and_no_menu_button(page, member):
    sign_in(page, "maria")
    page.goto("/search/")

    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_on_a_phone_the_first_search_result_is_visible_without_scrolling(phone, jobs_of_maria):
    sign_in(phone, "maria")
    phone.goto(f"/search/?q=Underwood&job_id={jobs_of_maria['job_id']}")

    first = phone.locator("#search-results .result").first
    expect(first.locator("mark").first).to_have_text("Underwood")
    box = first.bounding_box()
    assert phone.evaluate("window.scrollY") == 0
    assert box["y"] + box["height"] <= 740, box
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "search-375-first-result")

    phone.get_by_text("More filters").click()
    expect(phone.get_by_label("Job id", exact=True)).to_have_value(jobs_of_maria["job_id"])


def test_the_jobs_page_and_the_admin_upload_jobs_fit_1366_px_with_status_counts_and_uploader(
    laptop, jobs_of_maria, staff
):
    sign_in(laptop, "olga")
    pages = (
        ("/jobs/", "jobs-1366", "#job-rows table", ("[data-status]", "td.num", "td.uploader")),
        (
            "/admin/upload-jobs/",
            "admin-upload-jobs-1366",
            "#result_list",
            ("td.field-status", "td.field-indexed", "td.field-uploader"),
        ),
    )
    for path, name, table, cells in pages:
        laptop.goto(path)
        expect(laptop.locator(table)).to_contain_text(LONG_NAMES[1][:20])
        screenshot(laptop, name)
        assert laptop.evaluate("document.documentElement.scrollWidth") <= 1366, path
        # The table itself fits: its box scrolls no column out of view.
        assert laptop.locator(table).evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"), path
        for cell in cells:
            expect(laptop.locator(cell).first).to_be_visible()
            assert uncovered_on_screen(laptop, cell), (path, cell)
        expect(laptop.locator(table)).to_contain_text("maria")
