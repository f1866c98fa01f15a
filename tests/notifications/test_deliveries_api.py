"""The deliveries API: the log with its filters and pages, one delivery with its attempts, resend; per-user scoping."""

import datetime as dt

import pytest
from django.utils import timezone

from notifications.messages import body_for
from notifications.models import Channel, Delivery, DeliveryAttempt

pytestmark = pytest.mark.django_db

JOB_DATA = {"job_id": "5f1c", "filename": "fraud_transactions_2k.csv", "status": "completed"}


def a_channel(owner, **fields) -> Channel:
    values = {"name": "Ops hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "events": ["job.completed"]}
    return Channel.objects.create(owner=owner, secret="whsec_" + "a" * 44, **{**values, **fields})


def a_delivery(channel: Channel, *, state: str = "delivered", attempts: list[int | None] = (200,)) -> Delivery:
    now = timezone.now()
    delivery = Delivery.objects.create(
        channel=channel,
        event_type="job.completed",
        body=body_for(event_type="job.completed", data=JOB_DATA, at=now),
        state=state,
        attempts=len(attempts),
        series_attempts=len(attempts),
        last_status_code=attempts[-1] if attempts else None,
        delivered_at=now if state == "delivered" else None,
    )
    for number, status_code in enumerate(attempts, start=1):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=now + dt.timedelta(seconds=number),
            duration_ms=12,
            status_code=status_code,
            response_excerpt="ok" if status_code == 200 else "Service Unavailable",
            error="" if status_code == 200 else f"The receiver answered {status_code}",
        )
    return delivery


def test_the_log_lists_deliveries_newest_first_with_the_contract_fields(api_client, user):
    channel = a_channel(user)
    older, newer = a_delivery(channel), a_delivery(channel, state="failed", attempts=[503, 503, 500])

    page = api_client.get("/api/notifications/deliveries").json()

    assert page["count"] == 2
    assert [row["id"] for row in page["results"]] == [newer.pk, older.pk]
    row = page["results"][0]
    assert {
        "id",
        "channel",
        "event_type",
        "state",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
    } <= set(row)
    assert row["channel"] == channel.pk
    assert row["state"] == "failed"
    assert row["attempts"] == 3
    assert row["last_status_code"] == 500
    assert row["delivered_at"] is None


def test_the_log_filters_by_channel_and_state_and_pages(api_client, user):
    hook, slack = a_channel(user), a_channel(user, name="Slack", kind="slack")
    for _ in range(3):
        a_delivery(hook)
    failed = a_delivery(slack, state="failed", attempts=[500])

    by_channel = api_client.get("/api/notifications/deliveries", {"channel": slack.pk}).json()
    by_state = api_client.get("/api/notifications/deliveries", {"state": "delivered"}).json()
    second_page = api_client.get("/api/notifications/deliveries", {"page_size": 2, "page": 2}).json()

    assert [row["id"] for row in by_channel["results"]] == [failed.pk]
    assert by_state["count"] == 3
    assert {row["state"] for row in by_state["results"]} == {"delivered"}
    assert second_page["count"] == 4
    assert len(second_page["results"]) == 2


def test_one_delivery_shows_its_attempts_and_the_body_sent(api_client, user):
    delivery = a_delivery(a_channel(user), attempts=[503, 200])

    shown = api_client.get(f"/api/notifications/deliveries/{delivery.pk}").json()

    assert [attempt["status_code"] for attempt in shown["attempt_log"]] == [503, 200]
    assert shown["attempt_log"][0]["error"] == "The receiver answered 503"
    assert shown["attempt_log"][0]["response_excerpt"] == "Service Unavailable"
    assert shown["attempt_log"][0]["duration_ms"] == 12
    assert shown["payload"]["type"] == "job.completed"
    assert shown["payload"]["data"] == JOB_DATA
    assert shown["message_id"] == delivery.message_id


def test_resend_puts_a_finished_delivery_back_in_line(api_client, user):
    delivery = a_delivery(a_channel(user), state="failed", attempts=[500, 500, 500])

    response = api_client.post(f"/api/notifications/deliveries/{delivery.pk}/resend")
    delivery.refresh_from_db()

    assert response.status_code == 202
    assert delivery.state == "pending"
    assert delivery.series_attempts == 0
    assert delivery.attempts == 3  # the log keeps the earlier attempts


def test_resend_on_a_disabled_channel_says_to_enable_it_first(api_client, user):
    delivery = a_delivery(a_channel(user, enabled=False, disabled_reason="The receiver answered 410 Gone"))

    response = api_client.post(f"/api/notifications/deliveries/{delivery.pk}/resend")

    assert response.status_code == 400
    assert response.json()["error"] == "This channel is disabled; enable it before resending."


def test_it_rejects_other_users_deliveries_as_missing(api_client, other_client, user):
    delivery = a_delivery(a_channel(user), state="failed", attempts=[500])

    shown = other_client.get(f"/api/notifications/deliveries/{delivery.pk}")
    resent = other_client.post(f"/api/notifications/deliveries/{delivery.pk}/resend")
    listed = other_client.get("/api/notifications/deliveries", {"channel": delivery.channel_id}).json()

    assert shown.status_code == 404
    assert shown.json() == {"success": False, "error": "Delivery not found"}
    assert resent.status_code == 404
    assert listed["count"] == 0
    delivery.refresh_from_db()
    assert delivery.state == "failed"
