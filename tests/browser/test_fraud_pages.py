"""The fraud pages in a real browser: the queue of the labelled file's alerts, evidence, acknowledging."""

import re

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from tests.browser.conftest import screenshot, sign_in
from tests.datafiles import FRAUD_TRANSACTIONS
from tests.helpers import upload_and_screen

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def screened_file(celery_worker, member):
    client = APIClient()
    client.force_authenticate(member)
    return upload_and_screen(client, FRAUD_TRANSACTIONS.name, FRAUD_TRANSACTIONS.read_bytes())


def test_the_fraud_queue_lists_alerts_and_an_alert_shows_its_evidence_and_can_be_acknowledged(page, screened_file):
    sign_in(page, "maria")
    page.goto("/fraud/?tier=high")
    rows = page.locator("#alert-queue tbody tr")
    expect(rows.first).to_be_visible()
    high_open = int(page.locator("[data-kpi='open-high']").inner_text())
    assert high_open > 0
    screenshot(page, "fraud-queue")

    first = rows.first
    alert_id = first.get_attribute("data-alert-id")
    expect(first.locator(".alert-upload")).to_contain_text("fraud_transactions_2k.csv")
    expect(first.locator(".alert-upload [data-uploader]")).to_have_text("maria")
    first.locator("td").nth(2).get_by_role("link").click()
    expect(page.locator("#evidence tbody tr").first).to_contain_text(screened_file["file_id"])
    expect(page.locator("#evidence")).to_contain_text("First order, large amount")
    # Every amount with its currency (the file's payment_currency column), in the table and in the reasons.
    expect(page.locator("#evidence tbody tr td.num").first).to_have_text(re.compile(r"^[\d,]+\.\d\d [A-Z]{3}$"))
    large = re.compile(r"\d\.\d\d [A-Z]{3} is more than 90% of this shop's orders")
    expect(page.locator("#evidence")).to_contain_text(large)
    expect(page.locator("[data-uploader]")).to_have_text("maria")
    expect(page.locator("#alert-jobs")).to_contain_text("fraud_transactions_2k.csv")
    page.wait_for_function("window.alertCharts && window.alertCharts.time.data.datasets[0].data.length > 0")
    screenshot(page, "fraud-alert")

    page.get_by_label("Acknowledged").check()
    page.get_by_label("Note (needed to dismiss)").fill("Calling the customer")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator(".messages")).to_contain_text("Alert marked acknowledged.")
    expect(page.locator("#alert-status")).to_contain_text("Acknowledged, by maria")
    expect(page.locator("#alert-history")).to_contain_text("open → acknowledged by maria")

    page.goto("/fraud/?tier=high")
    expect(page.locator(f"#alert-queue tr[data-alert-id='{alert_id}']")).to_have_count(0)
    expect(page.locator("[data-kpi='open-high']")).to_have_text(str(high_open - 1))
    page.goto("/fraud/?status=acknowledged")
    expect(page.locator(f"#alert-queue tr[data-alert-id='{alert_id}'] td[data-status]")).to_have_text("Acknowledged")


def test_dismissing_without_a_note_says_so_and_keeps_the_chosen_action_and_the_typed_note(page, screened_file):
    sign_in(page, "maria")
    page.goto("/fraud/?status=open")
    page.locator("#alert-queue tbody tr").first.locator("td").nth(2).get_by_role("link").click()
    expect(page.locator("#alert-status")).to_have_attribute("data-status", "open")

    page.get_by_label("Dismissed").check()
    page.get_by_role("button", name="Save status").click()

    expect(page.get_by_role("alert")).to_have_text("note: say why the alert is dismissed")
    expect(page.get_by_label("Dismissed")).to_be_checked()
    expect(page.get_by_label("Note (needed to dismiss)")).to_be_focused()
    expect(page.locator("#alert-status")).to_have_attribute("data-status", "open")
    screenshot(page, "fraud-alert-dismiss-without-note")

    page.get_by_label("Note (needed to dismiss)").fill("   ")
    page.get_by_role("button", name="Save status").click()
    expect(page.get_by_role("alert")).to_have_text("note: say why the alert is dismissed")
    expect(page.get_by_label("Dismissed")).to_be_checked()
    expect(page.get_by_label("Note (needed to dismiss)")).to_have_value("   ")

    page.get_by_label("Note (needed to dismiss)").fill("Known customer, paid by invoice")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator(".messages")).to_contain_text("Alert marked dismissed.")
    expect(page.locator("#alert-status")).to_contain_text("Dismissed, by maria")
    expect(page.locator("#alert-status")).to_contain_text("Known customer, paid by invoice")


def test_a_status_another_reviewer_set_meanwhile_is_explained_and_the_typed_note_kept(page, screened_file, staff):
    sign_in(page, "maria")
    page.goto("/fraud/?status=open")
    page.locator("#alert-queue tbody tr").first.locator("td").nth(2).get_by_role("link").click()
    alert_id = page.url.rstrip("/").rsplit("/", 1)[1]
    colleague = APIClient()
    colleague.force_authenticate(staff)
    changed = colleague.post(
        f"/api/fraud/alerts/{alert_id}/status", {"status": "acknowledged", "note": "on it"}, format="json"
    )
    assert changed.status_code == 200, changed.json()

    page.get_by_label("Acknowledged").check()
    page.get_by_label("Note (needed to dismiss)").fill("Calling the customer")
    page.get_by_role("button", name="Save status").click()

    expect(page.get_by_role("alert")).to_have_text("The alert is already acknowledged")
    expect(page.get_by_label("Note (needed to dismiss)")).to_have_value("Calling the customer")
    expect(page.locator("#alert-status")).to_contain_text("Acknowledged, by olga")


def test_a_queue_filter_error_keeps_every_filter_and_says_what_to_fix(page, screened_file):
    sign_in(page, "maria")
    page.goto("/fraud/")
    page.get_by_label("Status").select_option(label="Any")
    page.get_by_label("Tier").select_option(label="High")
    page.get_by_label("Customer, card or IP").fill("-")
    page.get_by_label("Seen from").fill("2023-02-01")
    page.get_by_label("Seen until").fill("2022-11-01")
    page.get_by_role("button", name="Filter").click()

    expect(page.get_by_role("alert")).to_have_text(
        "Seen until (2022-11-01) is before seen from (2023-02-01): swap the two dates"
    )
    expect(page.locator("#alert-queue")).to_have_count(0)
    expect(page.get_by_label("Status")).to_have_value("all")
    expect(page.get_by_label("Tier")).to_have_value("high")
    expect(page.get_by_label("Customer, card or IP")).to_have_value("-")
    expect(page.get_by_label("Seen from")).to_have_value("2023-02-01")
    expect(page.get_by_label("Seen until")).to_have_value("2022-11-01")
    screenshot(page, "fraud-queue-filter-error")

    page.get_by_label("Seen from").fill("2022-11-01")
    page.get_by_label("Seen until").fill("2023-02-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    rows = page.locator("#alert-queue tbody tr")
    expect(rows.first).to_be_visible()
    assert set(rows.locator("td:first-child").all_inner_texts()) == {"High"}

    page.goto("/fraud/?status=opne&tier=high")
    expect(page.get_by_role("alert")).to_have_text(
        "Status: 'opne' is not one of Any, Open, Acknowledged, Dismissed, Confirmed fraud"
    )
    expect(page.get_by_label("Tier")).to_have_value("high")
