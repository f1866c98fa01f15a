"""Alert rules end to end: planted events uploaded through the API (real rows, recent times), rules created through
the API, evaluated at chosen moments, told to a real receiver that verifies every signature.

Each rule type fires once on its planted condition, resolves when the condition ends, and realert keeps repeats
quiet while it keeps firing. The engine's state is in the database: a worker restart resumes it, and a rule missed
during an outage is judged over the missed windows in one run.
"""

import datetime as dt

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from notifications import tasks
from notifications.models import Delivery, RuleEvaluation
from notifications.services.evaluation import rule_evaluate, rules_due
from tests.notifications.conftest import webhook_channel
from tests.notifications.planted import BURST, HOUR, MINUTE, NEW_COUNTRY, SPIKE, Timeline

pytestmark = pytest.mark.django_db(transaction=True)
RULE_EVENTS = ["rule.fired", "rule.resolved"]


def make_rule(client: APIClient, channel: dict | None, **fields) -> dict:
    body = {"name": f"{fields['type']} rule", "channels": [channel["id"]] if channel else [], **fields}
    response = client.post("/api/alerts/rules", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def evaluate_at(rule: dict, timeline: Timeline, window_end: dt.timedelta):
    """Evaluate as the beat would just after the window ending at start + `window_end` (the lag past it)."""
    now = timeline.at(window_end) + dt.timedelta(seconds=settings.ALERT_RULES_LAG_SECONDS, milliseconds=1)
    run = rule_evaluate(rule_id=rule["id"], now=now)
    assert run is not None and run.error == "", run and run.error
    return run


def alert_events(client: APIClient, rule: dict, **params) -> list[dict]:
    response = client.get("/api/alerts/events", {"rule": rule["id"], **params})
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def calls(receiver, count: int) -> tuple:
    """The receiver's first `count` calls, fired before resolved (the worker sends them in parallel)."""
    order = {"rule.fired": 0, "rule.resolved": 1}
    return tuple(sorted(receiver.wait_for(count)[:count], key=lambda call: order[call.json["type"]]))


def told(rule: dict, event_type: str) -> int:
    """How many deliveries the rule made of this event type."""
    return Delivery.objects.filter(event_type=event_type, key__startswith=f"rule:{rule['id']}:").count()


def test_a_burst_of_404s_fires_once_with_its_documents_then_resolves(ana, planted, receiver):
    timeline = planted["timeline"]
    channel = webhook_channel(ana, receiver, events=RULE_EVENTS)
    rule = make_rule(ana, channel, type="frequency", query={"status": 404}, window="5m", threshold=10)

    quiet = evaluate_at(rule, timeline, HOUR)
    fired = evaluate_at(rule, timeline, HOUR + 5 * MINUTE)
    [event] = alert_events(ana, rule)
    resolved = evaluate_at(rule, timeline, HOUR + 10 * MINUTE)
    fired_call, resolved_call = calls(receiver, 2)

    assert (quiet.fired, quiet.value) == (False, 0)
    assert (fired.fired, fired.value) == (True, BURST)
    assert resolved.fired is False
    assert event["state"] == "firing"
    assert event["value"] == BURST
    assert len(event["documents"]) == 10
    assert all(doc_id.count(":") == 1 for doc_id in event["documents"])
    assert event["search_url"].startswith("http://testserver/search/?status=404&from=")
    [closed] = alert_events(ana, rule, state="resolved")
    assert closed["id"] == event["id"] and closed["resolved_at"] is not None
    assert fired_call.verified_by == resolved_call.verified_by == [0]
    assert fired_call.json["type"] == "rule.fired"
    assert fired_call.json["data"]["value"] == BURST
    assert fired_call.json["data"]["documents"] == event["documents"]
    assert resolved_call.json["type"] == "rule.resolved"
    assert resolved_call.json["data"]["event_id"] == event["id"]
    # The matching documents the event names are the burst's 404s, as search shows them.
    found = ana.get("/api/search", {"status": 404, "q": timeline.burst_ip, "job_id": planted["web_job"]}).json()
    assert set(event["documents"]) <= {hit["id"] for hit in found["results"]}


def test_frequency_per_ip_fires_for_the_one_ip_of_the_burst(ana, planted, receiver):
    timeline = planted["timeline"]
    channel = webhook_channel(ana, receiver, events=RULE_EVENTS)
    rule = make_rule(ana, channel, type="frequency", query={"status": 404}, window="5m", threshold=10, field="ip")

    evaluate_at(rule, timeline, HOUR + 5 * MINUTE)
    [event] = alert_events(ana, rule)
    evaluate_at(rule, timeline, HOUR + 10 * MINUTE)
    fired_call, resolved_call = calls(receiver, 2)

    assert event["key"] == timeline.burst_ip
    assert f"ip={timeline.burst_ip}" in event["search_url"]
    assert fired_call.json["data"]["key"] == timeline.burst_ip
    assert timeline.burst_ip in fired_call.json["data"]["summary"]
    assert resolved_call.json["type"] == "rule.resolved"


def test_a_silent_hour_fires_a_flatline_once_and_realert_tells_again_only_when_due(ana, planted, receiver):
    timeline = planted["timeline"]
    channel = webhook_channel(ana, receiver, events=RULE_EVENTS)
    common = {"type": "flatline", "query": {"status": 200}, "window": "30m", "threshold": 3}
    quiet_rule = make_rule(ana, channel, name="Shipper stopped", realert="1h", **common)
    loud_rule = make_rule(ana, channel, name="Shipper stopped (remind)", realert="30m", **common)

    for rule in (quiet_rule, loud_rule):
        runs = [evaluate_at(rule, timeline, 2 * HOUR + minutes * MINUTE) for minutes in (0, 30, 60, 90)]
        assert [run.fired for run in runs] == [False, True, True, False]
        assert [run.value for run in runs] == [15, 0, 0, 15]
    receiver.wait_for(5)

    [quiet_event] = alert_events(ana, quiet_rule, state="resolved")
    assert quiet_event["fired_at"].startswith(timeline.at(2 * HOUR + 30 * MINUTE).strftime("%Y-%m-%dT%H:%M"))
    # Still firing half an hour later: inside the 1h realert period, so not told again.
    assert (told(quiet_rule, "rule.fired"), told(quiet_rule, "rule.resolved")) == (1, 1)
    assert (told(loud_rule, "rule.fired"), told(loud_rule, "rule.resolved")) == (2, 1)
    repeats = [call.json["data"]["repeat"] for call in receiver.received if call.json["type"] == "rule.fired"]
    assert sorted(repeats) == [False, False, True]


def test_a_tenfold_hour_of_503s_fires_a_spike_then_resolves(ana, planted, receiver):
    timeline = planted["timeline"]
    channel = webhook_channel(ana, receiver, events=RULE_EVENTS)
    rule = make_rule(
        ana, channel, type="spike", query={"status": 503}, window="1h", ratio=10, threshold=10, direction="up"
    )

    runs = [evaluate_at(rule, timeline, hours * HOUR) for hours in (4, 5, 6)]
    fired_call, resolved_call = calls(receiver, 2)

    assert [run.fired for run in runs] == [False, True, False]
    assert [run.value for run in runs] == [2, 2 + SPIKE, 2]
    assert runs[1].detail["previous"] == 2
    assert fired_call.json["type"] == "rule.fired"
    assert fired_call.json["data"]["value"] == 2 + SPIKE
    assert resolved_call.json["type"] == "rule.resolved"
    [event] = alert_events(ana, rule, state="resolved")
    assert event["detail"]["previous"] == 2


def test_a_country_never_seen_before_fires_a_new_term_once(ana, planted, receiver):
    timeline = planted["timeline"]
    channel = webhook_channel(ana, receiver, events=RULE_EVENTS)
    rule = make_rule(
        ana,
        channel,
        type="new_term",
        query={"job_id": planted["orders_job"]},
        window="1h",
        field="geo.country_iso_code",
        history="7d",
    )

    runs = [evaluate_at(rule, timeline, hours * HOUR) for hours in (2, 5, 6, 7)]
    fired_call, resolved_call = calls(receiver, 2)

    # The first hour's countries are new to a rule that never ran: it fires for them, and they come back every hour.
    assert [run.fired for run in runs] == [False, False, True, False]
    [event] = alert_events(ana, rule)
    assert event["key"] == NEW_COUNTRY
    assert event["value"] == 1
    assert event["state"] == "resolved"
    assert fired_call.json["data"]["key"] == NEW_COUNTRY
    assert resolved_call.json["type"] == "rule.resolved"
    assert f"geo.country_iso_code={NEW_COUNTRY}" in event["search_url"]


def test_revenue_below_a_floor_fires_a_metric_rule_then_resolves(ana, planted, receiver):
    timeline = planted["timeline"]
    channel = webhook_channel(ana, receiver, events=RULE_EVENTS)
    rule = make_rule(
        ana,
        channel,
        type="metric",
        query={"job_id": planted["orders_job"]},
        window="1h",
        field="amount",
        metric="sum",
        direction="below",
        threshold=100,
    )

    runs = [evaluate_at(rule, timeline, hours * HOUR) for hours in (3, 4, 5)]
    fired_call, resolved_call = calls(receiver, 2)

    assert [run.fired for run in runs] == [False, True, False]
    assert runs[0].value > 100
    assert runs[1].value == pytest.approx(timeline.cheapest)
    assert fired_call.json["data"]["value"] == pytest.approx(timeline.cheapest)
    assert "below 100" in fired_call.json["data"]["summary"]
    assert resolved_call.json["type"] == "rule.resolved"


def test_state_survives_a_worker_restart_and_a_missed_hour_is_judged_in_one_run(ana, planted, receiver, celery_worker):
    timeline = planted["timeline"]
    channel = webhook_channel(ana, receiver, events=RULE_EVENTS)
    rule = make_rule(ana, channel, type="frequency", query={"status": 404}, window="5m", threshold=10)
    lag = dt.timedelta(seconds=settings.ALERT_RULES_LAG_SECONDS, milliseconds=1)

    def run_on_worker(window_end: dt.timedelta) -> str:
        moment = (timeline.at(window_end) + lag).isoformat()
        return tasks.rule_evaluate.delay(rule["id"], moment).get(timeout=60)

    first = run_on_worker(50 * MINUTE)
    celery_worker.stop()
    celery_worker.start()
    # The workers were down for an hour: the next run covers the twelve 5m windows since, the burst among them.
    caught_up = run_on_worker(HOUR + 50 * MINUTE)
    again = run_on_worker(HOUR + 50 * MINUTE)
    fired_call, resolved_call = calls(receiver, 2)

    assert (first, caught_up, again) == ("quiet", "fired", None)
    runs = list(RuleEvaluation.objects.filter(rule_id=rule["id"]).order_by("window_end"))
    assert [run.windows for run in runs] == [1, 12]
    assert runs[1].window_start == timeline.at(50 * MINUTE)
    assert runs[1].detail["windows_fired"] == 1
    [event] = alert_events(ana, rule)
    assert event["state"] == "resolved"
    assert event["value"] == BURST
    assert (fired_call.json["type"], resolved_call.json["type"]) == ("rule.fired", "rule.resolved")
    history = ana.get(f"/api/alerts/rules/{rule['id']}/runs").json()
    assert history["count"] == 2
    assert [run["windows"] for run in history["results"]] == [12, 1]
    assert history["results"][0]["fired"] is True


def test_beat_finds_the_rules_that_are_due_and_never_a_disabled_one(ana, planted):
    timeline = planted["timeline"]
    rule = make_rule(ana, None, type="frequency", query={"status": 404}, window="5m", threshold=10)
    disabled = make_rule(ana, None, type="flatline", query={"status": 200}, window="5m", threshold=1, enabled=False)
    lag = dt.timedelta(seconds=settings.ALERT_RULES_LAG_SECONDS, milliseconds=1)
    run_at = timeline.at(HOUR) + lag

    due_at_first = rules_due(now=run_at)
    evaluate_at(rule, timeline, HOUR)

    assert rule["id"] in due_at_first and disabled["id"] not in due_at_first
    assert rule["id"] not in rules_due(now=run_at + 59 * dt.timedelta(seconds=1))
    assert rule["id"] in rules_due(now=run_at + MINUTE)
    assert rule_evaluate(rule_id=disabled["id"], now=run_at) is None


def test_a_fired_rule_reaches_an_email_channel_in_words_with_its_search_link(ana, planted, mailbox):
    timeline = planted["timeline"]
    channel = ana.post(
        "/api/notifications/channels",
        {"name": "On call", "kind": "email", "email": "oncall@shop.example", "events": ["rule.fired"]},
        format="json",
    ).json()
    rule = make_rule(
        ana,
        channel,
        name="Revenue floor",
        type="metric",
        query={"job_id": planted["orders_job"]},
        window="1h",
        field="amount",
        metric="sum",
        direction="below",
        threshold=100,
    )

    evaluate_at(rule, timeline, 4 * HOUR)
    [message] = mailbox.wait_for(1)
    plain = message.get_body(preferencelist=("plain",)).get_content()
    [event] = alert_events(ana, rule)

    assert message["To"] == "oncall@shop.example"
    assert '"Revenue floor" fired: the sum of amount was' in message["Subject"]
    assert "below 100" in plain
    assert event["search_url"] in plain
