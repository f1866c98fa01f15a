"""The notifications pages in a real browser: add a webhook, see its secret once, send a test, read the log, resend."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.notifications.receivers import HttpReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


def test_a_webhook_is_added_tested_and_resent_from_the_pages(page, celery_worker, member, receiver):
    sign_in(page, "maria")
    page.get_by_role("link", name="Notifications").click()
    form = page.get_by_role("form", name="New channel")
    form.get_by_label("Name").fill("Shop webhook")
    form.get_by_label("Kind").select_option("webhook")
    form.get_by_label("URL").fill(receiver.url + "/hooks/logs")
    form.get_by_label("Job failed").check()
    form.get_by_role("button", name="Add channel").click()

    secret = page.get_by_label("Secret", exact=True).input_value()
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    screenshot(page, "notifications-secret")
    page.reload()
    expect(page.get_by_label("Secret", exact=True)).to_have_count(0)

    # By keyboard: focus the channel's "Send test" button and press Enter.
    page.get_by_role("button", name="Send test to Shop webhook").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text('Test sent to "Shop webhook"')
    delivery = page.locator("li.delivery").first
    expect(delivery.locator("[data-state]")).to_have_text("Delivered", timeout=30_000)
    delivery.get_by_text("Attempts (1)").click()
    expect(delivery.locator("tr[data-attempt='1']")).to_contain_text("200")
    [first] = receiver.wait_for(1)
    assert first.verified_by == [0]
    assert first.json["type"] == "test"
    screenshot(page, "notifications-deliveries")

    delivery.get_by_role("button", name="Resend").click()
    expect(page.locator(".messages")).to_contain_text("Sent again")
    expect(page.locator("li.delivery").first.locator("[data-attempts]")).to_have_text("2", timeout=30_000)
    second = receiver.wait_for(2)[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.verified_by == [0]


def test_the_notifications_pages_fit_a_phone(phone, member):
    sign_in(phone, "maria")
    for path in ["/notifications/", "/notifications/deliveries/"]:
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
    screenshot(phone, "notifications-phone")
