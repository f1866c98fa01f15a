"""Search, analytics and the dashboard in a real browser, on events the real worker indexed."""

import pytest
from playwright.sync_api import expect

from tests.analytics.conftest import client_for
from tests.browser.conftest import PASSWORD, screenshot, sign_in
from tests.datafiles import ECOMMERCE_ORDERS
from tests.helpers import SCRIPT_NOTE, orders_with_a_script_note, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)


# One upload for the whole module: its documents and job outlive each test's database rows, and the
# user signing in is recreated with the same id for every test.
READER_ID = 900_100
SHOPPER_ID = 900_101


@pytest.fixture(scope="module")
def orders_upload(celery_worker):
    data, _job = upload_and_wait(client_for(READER_ID, "maria"), ECOMMERCE_ORDERS.name, ECOMMERCE_ORDERS.read_bytes())
    return data


@pytest.fixture
def orders_of(orders_upload, django_user_model):
    django_user_model.objects.create_user(id=READER_ID, username="maria", password=PASSWORD)
    return orders_upload


@pytest.fixture(scope="module")
def notes_upload(celery_worker):
    return upload_and_wait(client_for(SHOPPER_ID, "sam"), "orders-with-notes.ndjson", orders_with_a_script_note())[0]


def test_the_search_page_finds_and_highlights_a_term_and_opens_an_event(page, orders_of):
    sign_in(page, "maria")
    page.goto("/search/")
    page.get_by_label("Search", exact=True).fill("Underwood")
    page.get_by_role("button", name="Apply").click()

    expect(page.locator("#search-total")).to_contain_text("matching events")
    first = page.locator("#search-results .result").first
    expect(first.locator("mark").first).to_have_text("Underwood")
    screenshot(page, "search-page")

    first.get_by_role("link").first.click()
    expect(page.locator("#event-source")).to_contain_text("Underwood")
    expect(page.locator("#event-source")).to_contain_text(orders_of["file_id"])
    screenshot(page, "event-page")


def test_a_search_syntax_error_is_explained_on_the_page(page, orders_of):
    sign_in(page, "maria")
    page.goto('/search/?q="unclosed')

    expect(page.get_by_role("alert")).to_have_text('Query syntax: a phrase is opened with " but never closed')


def test_a_search_error_keeps_everything_typed_and_says_what_to_fix(page, orders_of):
    sign_in(page, "maria")
    page.goto("/search/")
    page.get_by_label("Search", exact=True).fill("Underwood")
    page.get_by_label("From", exact=True).fill("2016-12-01")
    page.get_by_label("To", exact=True).fill("last tuesday")
    page.get_by_label("Log type").select_option(label="Orders")
    page.get_by_label("Country").fill("US")
    page.get_by_label("Sort").select_option(label="Oldest first")
    page.get_by_text("Filter on any field").click()
    page.get_by_label("Field", exact=True).fill("customer gender")
    page.get_by_label("Value (end with * for a prefix)").fill("MALE")
    page.get_by_role("button", name="Apply").click()

    expect(page.get_by_role("alert")).to_have_text(
        "'customer gender' is not a field name: use letters, digits, _ @ . - and no spaces (e.g. geo.country_iso_code)"
    )
    typed = {"Search": "Underwood", "From": "2016-12-01", "To": "last tuesday", "Country": "US"}
    for label, value in typed.items():
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    expect(page.get_by_label("Log type")).to_have_value("order")
    expect(page.get_by_label("Sort")).to_have_value("@timestamp")
    expect(page.get_by_label("Field", exact=True)).to_have_value("customer gender")
    expect(page.get_by_label("Value (end with * for a prefix)")).to_have_value("MALE")
    screenshot(page, "search-error-kept")

    page.get_by_label("Field", exact=True).fill("customer_gender")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("to: could not read 'last tuesday' as a time (use ISO 8601")
    expect(page.locator(".active-filters")).to_contain_text("customer_gender = MALE")
    for label, value in typed.items():
        expect(page.get_by_label(label, exact=True)).to_have_value(value)

    page.get_by_label("To", exact=True).fill("2016-12-31T23:59:59Z")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#search-total")).to_contain_text("matching events")
    expect(page.get_by_role("alert")).to_have_count(0)
    first = page.locator("#search-results .result").first
    expect(first.locator("mark").first).to_have_text("Underwood")
    expect(page.get_by_label("Sort")).to_have_value("@timestamp")
    expect(page.locator(".active-filters")).to_contain_text("customer_gender = MALE")


def test_an_analytics_filter_error_keeps_everything_typed_and_a_bad_top_field_only_stops_its_panel(page, orders_of):
    sign_in(page, "maria")
    page.goto(f"/analytics/?job_id={orders_of['job_id']}&field=taxful total price")

    expect(page.locator("[data-kpi='orders']")).to_have_text("4,675")
    expect(page.locator("#top-error")).to_have_text(
        "'taxful total price' is not a field name: use letters, digits, _ @ . - and no spaces "
        "(e.g. geo.country_iso_code)"
    )
    expect(page.locator("#top-field")).to_have_value("taxful total price")

    page.get_by_label("From", exact=True).fill("2016-12-01")
    page.get_by_label("HTTP status", exact=True).fill("4040")
    page.get_by_role("button", name="Apply").click()

    expect(page.get_by_role("alert")).to_have_text("status: an HTTP status is a number from 100 to 599, such as 404")
    expect(page.get_by_label("From", exact=True)).to_have_value("2016-12-01")
    expect(page.get_by_label("HTTP status", exact=True)).to_have_value("4040")
    expect(page.get_by_label("Job id", exact=True)).to_have_value(orders_of["job_id"])


def test_the_analytics_page_draws_its_charts_with_data(page, orders_of):
    sign_in(page, "maria")
    page.goto(f"/analytics/?job_id={orders_of['job_id']}")

    expect(page.locator("[data-kpi='orders']")).to_have_text("4,675")
    expect(page.locator("[data-kpi='revenue']")).to_have_text("350,859.04")
    expect(page.locator("[data-kpi='median']")).to_have_text("63.98")
    for chart in ("chart-timeline", "chart-revenue", "chart-categories", "chart-top", "chart-geo"):
        page.wait_for_function(
            "id => window.analyticsCharts && window.analyticsCharts[id] && "
            "window.analyticsCharts[id].data.datasets[0].data.length > 0",
            arg=chart,
        )
    expect(page.locator("#categories-table")).to_contain_text("92,809.81")
    expect(page.locator("#countries-table")).to_contain_text("United States (US)")
    assert sum(int(cell) for cell in page.locator("#heatmap td").all_inner_texts()) == 4_675
    screenshot(page, "analytics-page")


def test_the_dashboard_shows_job_counts(page, orders_of):
    sign_in(page, "maria")
    page.goto("/dashboard/")

    expect(page.locator("[data-kpi='jobs']")).to_have_text("1")
    expect(page.locator("[data-status='completed']")).to_have_text("1")
    expect(page.locator("[data-kpi='indexed-24h']")).to_have_text("4,675")
    expect(page.locator("#indices-table tbody tr")).to_have_count(31)
    page.wait_for_function("window.dashboardChart && window.dashboardChart.data.datasets[0].data.some(v => v > 0)")
    screenshot(page, "dashboard-page")


def test_read_pages_fit_a_375_px_screen(phone, orders_of):
    sign_in(phone, "maria")
    for path, name in (
        ("/search/?q=Underwood", "search-375"),
        ("/analytics/", "analytics-375"),
        ("/dashboard/", "dashboard-375"),
    ):
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
        screenshot(phone, name)


def test_a_script_tag_in_the_data_shows_as_text_and_never_runs_on_the_search_page(
    page, notes_upload, django_user_model
):
    django_user_model.objects.create_user(id=SHOPPER_ID, username="sam", password=PASSWORD)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, "sam")
    page.goto("/search/?q=gift")

    results = page.locator("#search-results")
    expect(results.locator(".result")).to_have_count(5)
    expect(results.locator("mark").first).to_have_text("Gift")
    expect(results.locator(".highlights").first).to_contain_text(SCRIPT_NOTE)
    assert results.locator("script").count() == 0
    assert page.evaluate("[...document.scripts].some(script => script.text.includes('alert(1)'))") is False
    assert dialogs == []
