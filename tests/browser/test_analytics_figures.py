"""The analytics page as an analyst reads it: orders not line items, one currency at a time, empty charts said."""

import pytest
from playwright.sync_api import expect

from tests.analytics.conftest import client_for
from tests.browser.conftest import PASSWORD, SCREENSHOTS, screenshot, sign_in
from tests.datafiles import FRAUD_TRANSACTIONS, ONLINE_RETAIL_FRANCE, WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)

RETAILER_ID, WEBMASTER_ID, TRADER_ID = 900_110, 900_111, 900_112


@pytest.fixture(scope="module")
def uploads(celery_worker):
    """One user per shared file, uploaded once for the module through the real API and worker."""
    files = {
        RETAILER_ID: ("retailer", ONLINE_RETAIL_FRANCE.name, ONLINE_RETAIL_FRANCE.read_bytes()),
        WEBMASTER_ID: ("webmaster", WEB_ACCESS_LOGS.name, data_lines(WEB_ACCESS_LOGS.name, 2000)),
        TRADER_ID: ("trader", FRAUD_TRANSACTIONS.name, FRAUD_TRANSACTIONS.read_bytes()),
    }
    return {
        name: upload_and_wait(client_for(user_id, name), filename, content)[0]
        for user_id, (name, filename, content) in files.items()
    }


@pytest.fixture
def signed_in(page, uploads, django_user_model):
    def as_user(user_id: int, name: str):
        django_user_model.objects.create_user(id=user_id, username=name, password=PASSWORD)
        sign_in(page, name)
        return page

    return as_user


def test_the_retail_file_shows_invoices_as_orders_with_cancellations_apart(signed_in):
    page = signed_in(RETAILER_ID, "retailer")
    page.goto("/analytics/")

    # The reference figures of online_retail_france.csv, computed from the file.
    expect(page.locator("[data-kpi='events']")).to_have_text("8,557")
    expect(page.locator("[data-kpi='orders']")).to_have_text("392")
    expect(page.locator("#kpis")).to_contain_text("8,557 lines with an amount")
    expect(page.locator("[data-kpi='revenue']")).to_have_text("209,715.11")
    expect(page.locator("[data-kpi='cancellations']")).to_have_text("-12,311.21")
    expect(page.locator("#kpis")).to_contain_text("69 cancelled orders")
    expect(page.locator("[data-kpi='net']")).to_have_text("197,403.90")
    expect(page.locator("[data-kpi='average']")).to_have_text("534.99")
    expect(page.locator("[data-kpi='median']")).to_have_text("375.13")
    expect(page.locator("[data-kpi='customers']")).to_have_text("87")
    page.wait_for_function("window.analyticsCharts && window.analyticsCharts['chart-revenue']")
    # No IP in the file: its Country column puts every row in France, on the map too.
    expect(page.locator("#countries-table")).to_contain_text("France (FR)")
    page.wait_for_function("window.analyticsCharts && window.analyticsCharts['chart-geo']")
    screenshot(page, "analytics-retail")


def test_web_logs_without_revenue_say_so_instead_of_drawing_empty_charts(signed_in):
    page = signed_in(WEBMASTER_ID, "webmaster")
    page.goto("/analytics/")

    expect(page.locator("#revenue-empty")).to_have_text(
        "No revenue field in these events, so there is no revenue to show."
    )
    expect(page.locator("#no-orders")).to_contain_text("These events carry no amount")
    # Another user's file has categories (so the field exists), but no sale of this one has.
    expect(page.locator("[aria-labelledby='categories-heading']")).to_contain_text(
        "No sale in these events has a category."
    )
    assert page.locator("#chart-revenue").count() == 0
    assert page.locator("#chart-categories").count() == 0
    page.wait_for_function("window.analyticsCharts && window.analyticsCharts['chart-timeline']")
    screenshot(page, "analytics-web-logs")


def test_many_currencies_show_the_main_one_first_and_the_rest_on_demand(signed_in):
    page = signed_in(TRADER_ID, "trader")
    page.goto("/analytics/")

    expect(page.locator("#kpis")).to_contain_text("revenue (EGP)")
    expect(page.locator("[data-kpi='orders']")).to_have_text("20")
    others = page.locator("#other-currencies")
    expect(others.locator("summary")).to_have_text("Revenue in 162 other currencies (never added together)")
    expect(others.locator("#currencies-table")).not_to_be_visible()
    page.wait_for_function(
        "window.analyticsCharts && window.analyticsCharts['chart-currencies'] && "
        "window.analyticsCharts['chart-currencies'].data.labels.length === 6"
    )
    labels = page.evaluate("window.analyticsCharts['chart-currencies'].data.labels")
    assert labels[0] == "EGP" and labels[-1] == "158 other currencies"
    screenshot(page, "analytics-currencies")
    page.locator("[aria-labelledby='currencies-heading']").screenshot(path=str(SCREENSHOTS / "orders-per-currency.png"))

    others.locator("summary").click()
    expect(others.locator("#currencies-table tbody tr")).to_have_count(163)
    expect(others.locator("#currencies-table tbody tr").first).to_contain_text("EGP")


def test_a_dashboard_without_recent_lines_says_so_instead_of_an_empty_chart(page, member):
    sign_in(page, "maria")
    page.goto("/dashboard/")

    expect(page.locator("#per-day-empty")).to_have_text("No lines were ingested in the last 14 days.")
    assert page.locator("#chart-per-day").count() == 0
