"""The anomalies page and the expected band on the analytics timeline, in a real browser, on uploaded planted data."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, screenshot, sign_in
from tests.conftest import PLANTED_OWNER_ID

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def keeper(planted_upload, django_user_model):
    django_user_model.objects.create_user(id=PLANTED_OWNER_ID, username="keeper", password=PASSWORD)
    return planted_upload


def test_the_anomalies_page_explains_the_spike_and_opens_search_over_its_window(page, keeper):
    sign_in(page, "keeper")
    page.get_by_role("link", name="Anomalies").click()

    expect(page.locator("#anomaly-summary")).to_contain_text("Events per 1h, medium sensitivity: 3 anomalies")
    spike = page.locator("li.anomaly", has_text="in the hour to 15:00 on Wed 13 Mar")
    expect(spike).to_contain_text("higher than expected")
    expect(spike.locator(".explanation")).to_contain_text("for this hour of the day; ")
    screenshot(page, "anomalies-page")

    spike.get_by_role("link", name="Search the events of this window").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?*from=2024-03-13T14*")
    expect(page.locator("#search-total")).to_contain_text("matching events")
    expect(page.get_by_label("From")).to_have_value("2024-03-13T14:00:00Z")  # as the link wrote it


def test_the_anomalies_page_fits_a_phone_and_says_when_the_data_is_too_short(phone, keeper):
    sign_in(phone, "keeper")
    phone.goto("/anomalies/?from=2024-03-16T00:00:00Z")

    expect(phone.locator(".notice")).to_contain_text("Needs at least 3 days of data to learn the daily pattern")
    expect(phone.locator(".notice")).to_contain_text("with a band 1.5 times wider")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "anomalies-page-phone")


def test_the_analytics_timeline_draws_the_expected_band_and_marks_anomalies(page, keeper):
    sign_in(page, "keeper")
    page.goto("/analytics/?from=2024-03-12T00:00:00Z&to=2024-03-14T23:59:59Z")

    expect(page.locator("#timeline-band")).to_contain_text("Grey band: the expected number of events per hour")
    labels = page.evaluate("Chart.getChart('chart-timeline').data.datasets.map((set) => set.label)")
    assert {"Expected (low)", "Expected band", "Anomaly"} <= set(labels)
    marked = page.evaluate(
        "Chart.getChart('chart-timeline').data.datasets.find((set) => set.label === 'Anomaly').data"
        ".filter((value) => value !== null)"
    )
    assert 160 in marked  # the spike's hour
    screenshot(page, "analytics-timeline-band")
