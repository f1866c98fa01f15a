"""The channels API: create (secret shown once), read, change, delete, rotate; safe targets; per-user scoping."""

import datetime as dt

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.models import Channel, Delivery
from notifications.services.deliveries import delivery_test
from tests.conftest import fresh_user_id

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hooks/logs"
SLACK = "http://127.0.0.1:9/services/T000/B000/XXXX"


def create(client, **fields):
    body = {"name": "Ops hook", "kind": "webhook", "url": HOOK, "events": ["job.failed", "fraud.alert"], **fields}
    return client.post("/api/notifications/channels", body, format="json")


@pytest.fixture
def staff_client(django_user_model):
    staff = django_user_model.objects.create_user(id=fresh_user_id(), username="olga", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    return client


def test_creating_a_webhook_answers_its_secret_once(api_client):
    response = create(api_client)
    created = response.json()
    shown = api_client.get(f"/api/notifications/channels/{created['id']}").json()
    listed = api_client.get("/api/notifications/channels").json()

    assert response.status_code == 201
    assert {"id", "name", "kind", "events", "secret"} <= set(created)
    assert created["name"] == "Ops hook"
    assert created["kind"] == "webhook"
    assert created["events"] == ["job.failed", "fraud.alert"]
    assert created["secret"].startswith("whsec_")
    assert Channel.objects.get(pk=created["id"]).secret == created["secret"]
    assert "secret" not in shown
    assert [channel["id"] for channel in listed] == [created["id"]]
    assert "secret" not in listed[0]


def test_slack_and_email_channels_have_no_secret(api_client):
    slack = create(api_client, name="Slack #ops", kind="slack", url=SLACK).json()
    email = create(api_client, name="On call", kind="email", url="", email="oncall@shop.example").json()

    assert slack["secret"] == "" and slack["url"] == SLACK
    assert email["secret"] == "" and email["email"] == "oncall@shop.example"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "email", "email": "not an address"}, "An email channel needs a valid email address."),
        ({"url": ""}, "A webhook or Slack channel needs a URL."),
        ({"url": "ftp://files.example.com/in"}, "Only http:// and https:// URLs can receive notifications."),
        ({"name": "   "}, "name: This field may not be blank."),
        (
            {"headers": {"webhook-signature": "v1,forged"}},
            "The header webhook-signature is set by the platform and cannot be changed.",
        ),
        (
            {"headers": {"X-Bad": "one\r\nInjected: two"}},
            "The value of X-Bad must be one line of at most 1,000 characters.",
        ),
        ({"shared": True}, "Only staff may share a channel with everyone."),
    ],
)
def test_a_channel_that_cannot_work_is_refused_with_the_reason(api_client, fields, error):
    response = create(api_client, **fields)

    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}


def test_an_unknown_event_or_none_at_all_is_refused(api_client):
    assert create(api_client, events=["job.exploded"]).status_code == 400
    assert create(api_client, events=[]).status_code == 400


def test_private_targets_are_refused_unless_the_setting_allows_them(api_client, settings):
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    loopback = create(api_client, url="http://127.0.0.1:8000/hook")
    metadata = create(api_client, url="http://169.254.169.254/latest/meta-data/")
    named = create(api_client, kind="slack", url="http://localhost:8000/hook")

    assert loopback.status_code == 400
    assert (
        loopback.json()["error"]
        == "Refused: 127.0.0.1 is a loopback address. Notifications go only to public addresses."
    )
    assert metadata.json()["error"] == (
        "Refused: 169.254.169.254 is a link-local address. Notifications go only to public addresses."
    )
    assert named.status_code == 400
    assert named.json()["error"].startswith("Refused: localhost is ")
    assert Channel.objects.count() == 0


def test_changing_the_url_to_a_private_target_is_refused_too(api_client, settings):
    channel = create(api_client, url="http://93.184.216.34/hook").json()
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    response = api_client.patch(
        f"/api/notifications/channels/{channel['id']}", {"url": "http://10.0.0.8/hook"}, format="json"
    )

    assert response.status_code == 400
    assert (
        response.json()["error"] == "Refused: 10.0.0.8 is a private address. Notifications go only to public addresses."
    )
    assert Channel.objects.get(pk=channel["id"]).url == "http://93.184.216.34/hook"


def test_a_channel_is_changed_but_keeps_its_kind(api_client):
    channel = create(api_client).json()

    changed = api_client.patch(
        f"/api/notifications/channels/{channel['id']}",
        {"name": "Shop alerts", "events": ["job.completed"], "min_tier": "review", "headers": {"X-Team": "ops"}},
        format="json",
    )
    kind = api_client.patch(f"/api/notifications/channels/{channel['id']}", {"kind": "email"}, format="json")

    assert changed.status_code == 200
    assert changed.json()["name"] == "Shop alerts"
    assert changed.json()["events"] == ["job.completed"]
    assert changed.json()["min_tier"] == "review"
    assert changed.json()["headers"] == {"X-Team": "ops"}
    assert kind.status_code == 400
    assert kind.json()["error"] == "A channel's kind cannot change; create a new channel instead."


def test_enabling_a_disabled_channel_clears_its_reason_and_failures(api_client):
    channel = create(api_client).json()
    Channel.objects.filter(pk=channel["id"]).update(
        enabled=False, disabled_reason="The receiver answered 410 Gone", consecutive_failures=4
    )

    enabled = api_client.patch(f"/api/notifications/channels/{channel['id']}", {"enabled": True}, format="json").json()

    assert enabled["enabled"] is True
    assert enabled["disabled_reason"] == ""
    assert enabled["consecutive_failures"] == 0


def test_staff_may_share_a_channel_with_everyone(staff_client):
    response = create(staff_client, shared=True)

    assert response.status_code == 201
    assert response.json()["shared"] is True


def test_rotating_answers_a_new_secret_and_keeps_the_old_one_for_24_hours(api_client):
    channel = create(api_client).json()

    response = api_client.post(f"/api/notifications/channels/{channel['id']}/rotate-secret")
    stored = Channel.objects.get(pk=channel["id"])
    expires = dt.datetime.fromisoformat(response.json()["previous_secret_expires_at"])

    assert response.status_code == 200
    assert response.json()["secret"].startswith("whsec_")
    assert response.json()["secret"] != channel["secret"]
    assert stored.secret == response.json()["secret"]
    assert stored.previous_secret == channel["secret"]
    assert dt.timedelta(hours=23, minutes=59) < expires - stored.updated_at <= dt.timedelta(hours=24)


def test_only_webhooks_have_a_secret_to_rotate(api_client):
    slack = create(api_client, kind="slack", url=SLACK).json()

    response = api_client.post(f"/api/notifications/channels/{slack['id']}/rotate-secret")

    assert response.status_code == 400
    assert response.json()["error"] == "Only webhook channels have a signing secret."


def test_deleting_a_channel_removes_its_delivery_log(api_client):
    channel = create(api_client).json()
    delivery_test(channel=Channel.objects.get(pk=channel["id"]))

    response = api_client.delete(f"/api/notifications/channels/{channel['id']}")

    assert response.status_code == 204
    assert not Channel.objects.filter(pk=channel["id"]).exists()
    assert not Delivery.objects.filter(channel_id=channel["id"]).exists()


def test_it_rejects_other_users_channels_as_missing(api_client, other_client):
    channel = create(api_client).json()
    base = f"/api/notifications/channels/{channel['id']}"

    answers = [
        other_client.get(base),
        other_client.patch(base, {"name": "mine now"}, format="json"),
        other_client.delete(base),
        other_client.post(f"{base}/test"),
        other_client.post(f"{base}/rotate-secret"),
    ]

    assert [answer.status_code for answer in answers] == [404] * 5
    assert answers[0].json() == {"success": False, "error": "Channel not found"}
    assert other_client.get("/api/notifications/channels").json() == []
    assert Channel.objects.get(pk=channel["id"]).name == "Ops hook"


def test_sending_a_test_answers_the_queued_delivery(api_client):
    channel = create(api_client).json()

    response = api_client.post(f"/api/notifications/channels/{channel['id']}/test")

    assert response.status_code == 202
    assert response.json()["event_type"] == "test"
    assert response.json()["state"] == "pending"
    assert response.json()["channel"] == channel["id"]
