"""The alert rules API and pages: checked settings in plain sentences, ownership, changes, the preview over the
planted events, the run history and the alert event pages."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from notifications.models import AlertRule
from tests.notifications.conftest import PLANTER_ID, webhook_channel
from tests.notifications.planted import BURST, HOUR, MINUTE, NEW_COUNTRY
from tests.notifications.test_alert_rules import RULE_EVENTS, alert_events, evaluate_at, make_rule

pytestmark = pytest.mark.django_db(transaction=True)
BURST_RULE = {"type": "frequency", "query": {"status": 404}, "window": "5m", "threshold": 10}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"window": "five minutes"}, "window: use a number and a unit such as 5m, 1h or 1d"),
        ({"window": "40d"}, "window: from 1m to 30d, not 40d"),
        ({"threshold": None}, "threshold: how many matching events in the window fire it (1 or more)"),
        ({"type": "metric", "field": "amount"}, "metric: one of sum, avg, max, p95"),
        (
            {"type": "metric", "metric": "sum", "field": "geo.country_iso_code"},
            "field: geo.country_iso_code holds keyword values; a metric needs a number field such as amount",
        ),
        ({"type": "new_term"}, "field: which field's new values to watch, such as geo.country_iso_code"),
        ({"type": "spike", "ratio": 1}, "ratio: how many times more (or fewer) than the window before"),
        ({"realert": "soon"}, "realert: use a number and a unit such as 5m, 1h or 1d"),
        ({"query": {"size": 5}}, "query: a rule does not keep 'size' (its window is its time range)"),
        ({"query": {"q": "status:(404"}}, "Query syntax: a '(' opens a group that is never closed"),
    ],
)
def test_a_wrong_setting_is_refused_with_a_sentence(api_client, planted, changes, error):
    # `planted`: the events exist, so their fields are known (a field no event has yet is accepted).
    response = api_client.post("/api/alerts/rules", {"name": "404 burst", **BURST_RULE, **changes}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"].startswith(error), body["error"]
    assert not AlertRule.objects.exists()


def test_a_channel_that_does_not_hear_rule_events_is_refused(api_client, receiver):
    channel = webhook_channel(api_client, receiver, events=["job.failed"])

    response = api_client.post(
        "/api/alerts/rules", {"name": "404 burst", **BURST_RULE, "channels": [channel["id"]]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == (
        'channels: "Ops hook" does not hear rule.fired; tick "Alert rule fired" on that channel first'
    )


def test_rules_are_listed_changed_and_deleted_by_their_owner_only(api_client, other_client):
    created = make_rule(api_client, None, name="404 burst", **BURST_RULE, realert="30m")
    path = f"/api/alerts/rules/{created['id']}"

    changed = api_client.patch(path, {"threshold": 20, "enabled": False}, format="json")
    listed = api_client.get("/api/alerts/rules").json()
    strangers = [
        other_client.get(path),
        other_client.patch(path, {"threshold": 1}, format="json"),
        other_client.get(f"{path}/preview"),
        other_client.get(f"{path}/runs"),
        other_client.delete(path),
    ]
    strangers_events = other_client.get("/api/alerts/events", {"rule": created["id"]}).json()

    assert created["window"] == "5m" and created["realert"] == "30m" and created["state"] == "pending"
    assert created["query"] == {"status": ["404"]}
    assert changed.status_code == 200
    assert (changed.json()["threshold"], changed.json()["state"], changed.json()["window"]) == (20, "disabled", "5m")
    assert [rule["id"] for rule in listed] == [created["id"]]
    assert [response.status_code for response in strangers] == [404] * 5
    assert strangers[0].json() == {"success": False, "error": "Alert rule not found"}
    assert strangers_events["count"] == 0
    assert api_client.delete(path).status_code == 204
    assert api_client.get(path).status_code == 404


def test_the_preview_lists_the_one_burst_window_from_the_planted_events(ana, planted):
    timeline = planted["timeline"]
    rule = make_rule(ana, None, name="404 burst", **BURST_RULE)

    preview = ana.get(f"/api/alerts/rules/{rule['id']}/preview", {"days": 1}).json()

    [fired] = preview["fired"]
    assert fired["value"] == BURST
    burst_at = timeline.at(HOUR).isoformat().replace("+00:00", "Z")
    assert burst_at < fired["at"] <= timeline.at(HOUR + 6 * MINUTE).isoformat().replace("+00:00", "Z")
    assert (preview["count"], preview["events"], preview["windows"]) == (1, 1, 288)


def test_a_new_term_preview_gives_each_value_its_first_seen_time(ana, planted):
    timeline = planted["timeline"]
    rule = make_rule(
        ana,
        None,
        type="new_term",
        query={"job_id": planted["orders_job"]},
        window="1h",
        field="geo.country_iso_code",
        history="7d",
    )

    preview = ana.get(f"/api/alerts/rules/{rule['id']}/preview", {"days": 1}).json()

    first_seen = {item["value"]: item["at"] for item in preview["fired"]}
    assert set(first_seen) == {"US", "AE", "GB", "EG", NEW_COUNTRY}
    assert first_seen[NEW_COUNTRY].startswith(timeline.at(5 * HOUR + 25 * MINUTE).strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_pages_show_rules_their_runs_and_alert_events_with_a_link_to_search(ana, planted, receiver):
    timeline = planted["timeline"]
    channel = webhook_channel(ana, receiver, events=RULE_EVENTS)
    rule = make_rule(ana, channel, name="404 burst", **BURST_RULE)
    evaluate_at(rule, timeline, HOUR + 5 * MINUTE)
    [event] = alert_events(ana, rule)
    browser = Client()
    browser.force_login(get_user_model().objects.get(pk=PLANTER_ID))

    rules_page = browser.get("/alerts/").content.decode()
    rule_page = browser.get(f"/alerts/rules/{rule['id']}/").content.decode()
    events_page = browser.get("/alerts/events/", {"state": "firing"}).content.decode()

    assert 'data-state="firing"' in rules_page
    assert "at least 10 matching events in 5m" in rules_page
    assert rule_page.count("<tr data-run-id=") == 1
    assert "status=404</dd>" in rule_page
    assert f'data-event-id="{event["id"]}"' in events_page
    assert event["search_url"].removeprefix("http://testserver").replace("&", "&amp;") in events_page


def test_the_form_previews_then_saves_a_rule(ana, planted):
    browser = Client()
    browser.force_login(get_user_model().objects.get(pk=PLANTER_ID))
    form = {
        "name": "404 burst",
        "status": "404",
        "type": "frequency",
        "window": "5m",
        "threshold": "10",
        "every": "1m",
        "realert": "0",
        "notify_resolved": "on",
        "enabled": "on",
        "days": "1",
    }

    preview = browser.post("/alerts/rules/new", {**form, "preview": "1"})
    previewed_only = AlertRule.objects.count()
    bad = browser.post("/alerts/rules/new", {**form, "window": "5 minutes", "save": "1"})
    saved = browser.post("/alerts/rules/new", {**form, "save": "1"})

    assert preview.status_code == 200
    assert "would have fired in <strong>1</strong> window" in preview.content.decode()
    assert previewed_only == 0
    assert bad.status_code == 400
    assert "window: use a number and a unit such as 5m, 1h or 1d" in bad.content.decode()
    rule = AlertRule.objects.get(name="404 burst")
    assert saved["Location"] == f"/alerts/rules/{rule.pk}/"
    assert rule.query == {"status": ["404"]}
    assert (rule.window_seconds, rule.threshold) == (300, 10)
