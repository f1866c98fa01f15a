"""The alert pages in a real browser: create a rule from the form, preview it, see its alert event and delivery."""

import datetime as dt

import pytest
from django.conf import settings
from playwright.sync_api import expect
from rest_framework.test import APIClient

from notifications.models import AlertRule
from notifications.services.evaluation import rule_evaluate
from tests.browser.conftest import screenshot, sign_in
from tests.helpers import upload_and_wait
from tests.notifications.planted import BURST, HOUR, MINUTE, timeline_now
from tests.notifications.receivers import HttpReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def planted_web(celery_worker, member, receiver):
    """The planted access log (a burst of 404s from one IP) uploaded by maria, and her webhook for rule events."""
    client = APIClient()
    client.force_authenticate(member)
    timeline = timeline_now()
    upload_and_wait(client, "web_access.ndjson", b"".join(timeline.web))
    channel = client.post(
        "/api/notifications/channels",
        {"name": "Ops hook", "kind": "webhook", "url": receiver.url + "/hook", "events": ["rule.fired"]},
        format="json",
    ).json()
    receiver.secrets.append(channel["secret"])
    return timeline


def test_a_rule_is_created_previewed_and_its_alert_event_and_delivery_shown(page, planted_web, receiver):
    sign_in(page, "maria")
    page.get_by_role("link", name="Alerts").click()
    page.get_by_role("link", name="New rule").click()
    form = page.get_by_role("form", name="Alert rule")
    form.get_by_label("Name").fill("404 burst")
    form.get_by_label("HTTP status").fill("404")
    form.get_by_label("Rule type").select_option("frequency")
    expect(form.get_by_label("Ratio")).to_be_hidden()
    form.get_by_label("Window").fill("5m")
    form.get_by_label("Threshold").fill("10")
    form.get_by_label("Ops hook").check()
    form.get_by_label("Preview over the last").fill("1")
    form.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    expect(preview).to_be_focused()
    expect(preview.locator("[data-preview-summary]")).to_contain_text("would have fired in 1 window")
    expect(preview.locator("tbody tr")).to_have_count(1)
    expect(preview.locator("tbody tr td").nth(1)).to_have_text(str(BURST))
    screenshot(page, "alert-rule-preview")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".messages")).to_contain_text('Rule "404 burst" saved')

    # Beat's run just after the burst's window, at the time it would have come.
    rule = AlertRule.objects.get(name="404 burst")
    lag = dt.timedelta(seconds=settings.ALERT_RULES_LAG_SECONDS, milliseconds=1)
    rule_evaluate(rule_id=rule.pk, now=planted_web.at(HOUR + 5 * MINUTE) + lag)
    page.reload()
    event = page.locator("li.alert-event").first
    expect(event.locator("[data-state]")).to_have_text("Firing")
    expect(event.locator("[data-value]")).to_have_text(str(BURST))
    expect(page.locator("#rule-runs tbody tr")).to_have_count(1)
    screenshot(page, "alert-rule")

    event.get_by_role("link", name="Matching events in search").click()
    expect(page.get_by_label("Search")).to_be_visible()
    assert "status=404" in page.url
    page.go_back()
    page.get_by_role("link", name="Delivery log").click()
    delivery = page.locator("li.delivery").first
    expect(delivery).to_contain_text("Alert rule fired")
    expect(delivery.locator("[data-state]")).to_have_text("Delivered", timeout=30_000)
    [call] = receiver.wait_for(1)
    assert call.verified_by == [0]
    assert call.json["data"]["rule"] == "404 burst"


def test_the_alert_pages_fit_a_phone(phone, member):
    sign_in(phone, "maria")
    for path in ["/alerts/", "/alerts/rules/new", "/alerts/events/"]:
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
    screenshot(phone, "alerts-phone")
