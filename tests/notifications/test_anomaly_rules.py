"""Anomaly alert rules on fourteen days of real web access rows with planted anomalies, uploaded through the API:
the rule fires on the planted spike once that hour is complete, tells a receiver that verifies every signature
with the anomaly's explanation, resolves on the next normal hour, and stays quiet over the clean stretch."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.models import AlertEvent, AlertRule
from notifications.services.evaluation import rule_evaluate
from notifications.services.rules import rule_fields, rule_preview
from tests.analytics.planted import CLEAN, HOUR, SPIKE
from tests.conftest import PLANTED_OWNER_ID
from tests.notifications.conftest import webhook_channel

pytestmark = pytest.mark.django_db(transaction=True)
RULE_EVENTS = ["rule.fired", "rule.resolved"]


@pytest.fixture
def keeper(planted_upload) -> APIClient:
    """The owner of the planted series (tests.conftest.planted_upload), as an API client of this test's database."""
    user, _ = get_user_model().objects.get_or_create(id=PLANTED_OWNER_ID, defaults={"username": "keeper"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def anomaly_rule(client: APIClient, channel: dict | None = None, **fields) -> dict:
    body = {
        "name": "Traffic anomaly",
        "type": "anomaly",
        "series": "count",
        "window": "1h",
        "channels": [channel["id"]] if channel else [],
        **fields,
    }
    response = client.post("/api/alerts/rules", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def evaluate_after(rule: dict, hour_end: dt.datetime):
    """Evaluate as the beat would just after the hour ending at `hour_end` is complete (the lag past it)."""
    now = hour_end + dt.timedelta(seconds=settings.ALERT_RULES_LAG_SECONDS, milliseconds=1)
    run = rule_evaluate(rule_id=rule["id"], now=now)
    assert run is not None and run.error == "", run and run.error
    return run


def iso_ms(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_the_planted_spike_fires_once_with_its_explanation_then_resolves(keeper, receiver):
    channel = webhook_channel(keeper, receiver, events=RULE_EVENTS)
    rule = anomaly_rule(keeper, channel)

    before = evaluate_after(rule, SPIKE)
    fired = evaluate_after(rule, SPIKE + HOUR)
    resolved = evaluate_after(rule, SPIKE + 2 * HOUR)
    calls = sorted(receiver.wait_for(2)[:2], key=lambda call: call.json["type"] != "rule.fired")
    fired_call, resolved_call = calls
    [event] = keeper.get("/api/alerts/events", {"rule": rule["id"]}).json()["results"]

    assert (before.fired, fired.fired, resolved.fired) == (False, True, False)
    assert event["state"] == "resolved"
    assert (event["value"], fired.value) == (fired_call.json["data"]["value"], fired_call.json["data"]["value"])
    assert fired_call.verified_by == resolved_call.verified_by == [0]
    assert (fired_call.json["type"], resolved_call.json["type"]) == ("rule.fired", "rule.resolved")
    data = fired_call.json["data"]
    assert data["type"] == "anomaly" and data["series"] == "count" and data["sensitivity"] == "medium"
    assert data["direction"] == "up"
    assert data["score"] >= 50
    assert data["value"] > 2 * data["expected"]
    assert data["explanation"].startswith("events ")
    assert "expected" in data["explanation"]
    assert data["explanation"] in data["summary"]
    # The link opens the search over the anomaly's hour.
    link = urlsplit(data["search_url"])
    assert link.path == "/search/"
    assert parse_qs(link.query) == {
        "from": [iso_ms(SPIKE)],
        "to": [iso_ms(SPIKE + HOUR - dt.timedelta(milliseconds=1))],
    }
    assert data["window_start"].startswith(SPIKE.strftime("%Y-%m-%dT%H:%M"))
    assert resolved_call.json["data"]["event_id"] == event["id"]


def test_the_clean_stretch_raises_no_anomaly_alert(keeper):
    rule = anomaly_rule(keeper)
    # Afternoon peaks, a night and a morning in the stretch where nothing is planted.
    hours = [CLEAN[0] + dt.timedelta(days=day, hours=hour) for day, hour in ((1, 4), (2, 15), (3, 9), (4, 16), (5, 23))]

    runs = [evaluate_after(rule, hour) for hour in hours]

    assert [run.fired for run in runs] == [False] * len(hours)
    assert not AlertEvent.objects.filter(rule_id=rule["id"]).exists()


def test_a_rule_shows_its_series_and_condition_in_words(keeper):
    rule = anomaly_rule(keeper, series="error_rate", sensitivity="high")
    keeper.force_login(get_user_model().objects.get(id=PLANTED_OWNER_ID))

    page = keeper.get(f"/api/alerts/rules/{rule['id']}").json()
    html = keeper.get(reverse("alert-rule-page", args=[rule["id"]])).content.decode()

    assert "the series error_rate outside its expected band for the hour and weekday in a 1h bucket" in html
    assert "(high sensitivity)" in html
    assert (page["type"], page["series"], page["sensitivity"], page["window"]) == (
        "anomaly",
        "error_rate",
        "high",
        "1h",
    )
    assert rule["threshold"] is None and rule["field"] == ""


def test_the_preview_lists_the_planted_spike_with_its_explanation(keeper):
    rule = AlertRule.objects.get(pk=anomaly_rule(keeper)["id"])
    now = SPIKE + 2 * HOUR + dt.timedelta(seconds=settings.ALERT_RULES_LAG_SECONDS)

    preview = rule_preview(owner=rule.owner, fields=rule_fields(rule), days=2, now=now)

    spike = next(item for item in preview["fired"] if item["at"] == (SPIKE + HOUR).isoformat().replace("+00:00", "Z"))
    assert spike["explanation"].startswith("events ")
    assert preview["count"] == len(preview["fired"]) and preview["windows"] == 48
    assert "scores the whole span at once" in preview["note"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"series": "median:bytes"}, "series: count, error_rate, or sum:<field>"),
        ({"series": "sum:request"}, "series: 'request' is not a number"),
        ({"series": "avg:no_such_field"}, "series: no field 'no_such_field' in these events"),
        ({"sensitivity": "extreme"}, 'sensitivity: "extreme" is not a valid choice'),
        ({"window": "7m"}, "window: an anomaly rule's window is the bucket its series is cut into, one of 1m, 5m"),
    ],
)
def test_the_api_refuses_an_anomaly_rule_it_cannot_follow_with_a_sentence(keeper, fields, message):
    body = {"name": "Bad", "type": "anomaly", "series": "count", "window": "1h", **fields}

    response = keeper.post("/api/alerts/rules", body, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert message in response.json()["error"]


def test_the_form_saves_an_anomaly_rule_and_explains_a_bad_series(keeper):
    browser = Client()
    browser.force_login(get_user_model().objects.get(id=PLANTED_OWNER_ID))
    form = {
        "name": "Bytes anomaly",
        "type": "anomaly",
        "window": "1h",
        "series": "sum:bytes",
        "sensitivity": "low",
        "threshold": "",
        "every": "1h",
        "realert": "0",
        "enabled": "on",
        "days": "7",
    }

    page = browser.get("/alerts/rules/new").content.decode()
    preview = browser.post("/alerts/rules/new", {**form, "preview": "1"}).content.decode()
    bad = browser.post("/alerts/rules/new", {**form, "series": "sum:request", "save": "1"})
    saved = browser.post("/alerts/rules/new", {**form, "save": "1"})

    assert '<div class="field" data-types="anomaly">' in page and 'name="series"' in page
    assert "scores the whole span at once" in preview
    assert bad.status_code == 400
    assert "series: &#x27;request&#x27; is not a number" in bad.content.decode()
    rule = AlertRule.objects.get(name="Bytes anomaly")
    assert saved["Location"] == f"/alerts/rules/{rule.pk}/"
    assert (rule.type, rule.series, rule.sensitivity, rule.window_seconds) == ("anomaly", "sum:bytes", "low", 3600)
    assert (rule.threshold, rule.metric, rule.direction) == (None, "", "")
