"""The notifications pages with Django's test client: the secret shown once, forms, notices, ownership, CSRF."""

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import Channel, Delivery, DeliveryAttempt
from tests.notifications.test_deliveries_api import a_channel, a_delivery

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hooks/logs"


@pytest.fixture
def browser_client(user):
    client = Client()
    client.force_login(user)
    return client


def add_channel(client, **fields):
    form = {
        "name": "Ops hook",
        "kind": "webhook",
        "url": HOOK,
        "events": ["job.failed", "fraud.alert"],
        "min_tier": "high",
    }
    return client.post("/notifications/channels/new", {**form, **fields})


@pytest.mark.parametrize("path", ["/notifications/", "/notifications/deliveries/", "/notifications/channels/1/edit"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_channels_page_is_in_the_sites_layout_and_navigation(browser_client):
    page = browser_client.get("/notifications/").content.decode()

    assert '<a href="/notifications/" aria-current="page">Notifications' in page
    assert "Add a channel" in page
    assert "No channel yet." in page
    assert 'name="events" value="rule.fired"' in page


def test_a_new_webhooks_secret_is_shown_once(browser_client, user):
    response = add_channel(browser_client)
    channel = Channel.objects.get(owner=user)
    first = browser_client.get("/notifications/").content.decode()
    second = browser_client.get("/notifications/").content.decode()

    assert response.status_code == 302
    assert channel.secret in first
    assert "it is shown only once" in first
    assert channel.secret not in second
    assert "Ops hook" in second


def test_a_refused_channel_is_explained_in_plain_words(browser_client, settings):
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    response = add_channel(browser_client, url="http://192.168.1.20/hook")

    assert response.status_code == 400
    assert "Refused: 192.168.1.20 is a private address. Notifications go only to public addresses." in (
        response.content.decode()
    )
    assert not Channel.objects.exists()


def test_headers_are_written_one_per_line(browser_client, user):
    add_channel(browser_client, headers="Authorization: Bearer shop-42\nX-Team: ops\n")
    broken = add_channel(browser_client, name="Broken", headers="no colon here")

    assert Channel.objects.get(owner=user).headers == {"Authorization": "Bearer shop-42", "X-Team": "ops"}
    assert broken.status_code == 400
    assert "Line 1 of the headers needs the form" in broken.content.decode()


def test_a_channel_is_changed_from_its_page(browser_client, user):
    channel = a_channel(user)

    shown = browser_client.get(f"/notifications/channels/{channel.pk}/edit").content.decode()
    saved = browser_client.post(
        f"/notifications/channels/{channel.pk}/edit",
        {"name": "Shop alerts", "url": HOOK, "events": ["job.completed", "job.failed"], "min_tier": "review"},
    )
    channel.refresh_from_db()

    assert 'value="Ops hook"' in shown
    assert saved.status_code == 302
    assert channel.name == "Shop alerts"
    assert channel.events == ["job.completed", "job.failed"]
    assert channel.min_tier == "review"


def test_deleting_asks_for_confirmation_first(browser_client, user):
    channel = a_channel(user)

    confirm = browser_client.get(f"/notifications/channels/{channel.pk}/delete").content.decode()
    assert Channel.objects.filter(pk=channel.pk).exists()
    deleted = browser_client.post(f"/notifications/channels/{channel.pk}/delete")

    assert "Delete this channel?" in confirm
    assert deleted.status_code == 302
    assert not Channel.objects.filter(pk=channel.pk).exists()


def test_a_disabled_channel_is_announced_in_the_navigation_and_on_the_page(browser_client, user):
    channel = a_channel(user)
    Channel.objects.filter(pk=channel.pk).update(
        enabled=False, disabled_at=timezone.now(), disabled_reason="Its last 5 deliveries failed; the last one: 503."
    )

    elsewhere = browser_client.get("/jobs/").content.decode()
    page = browser_client.get("/notifications/").content.decode()
    browser_client.post(f"/notifications/channels/{channel.pk}/enable")
    after = browser_client.get("/jobs/").content.decode()

    assert '<span class="nav-alert" id="nav-disabled-channels">1 disabled</span>' in elsewhere
    assert '"Ops hook" was disabled' in page
    assert "Its last 5 deliveries failed; the last one: 503." in page
    assert "nav-disabled-channels" not in after
    assert Channel.objects.get(pk=channel.pk).enabled


def test_rotating_shows_the_new_secret_once(browser_client, user):
    channel = a_channel(user)

    browser_client.post(f"/notifications/channels/{channel.pk}/rotate-secret")
    page = browser_client.get("/notifications/").content.decode()
    channel.refresh_from_db()

    assert channel.secret in page
    assert "The previous one keeps signing for 24 hours." in page
    assert channel.previous_secret not in page


def test_the_delivery_log_shows_each_attempt_and_resends(browser_client, user):
    delivery = a_delivery(a_channel(user), state="failed", attempts=[503, 500])

    page = browser_client.get("/notifications/deliveries/").content.decode()
    resent = browser_client.post(
        f"/notifications/deliveries/{delivery.pk}/resend", {"next": "/notifications/deliveries/?state=failed"}
    )

    assert f'data-delivery-id="{delivery.pk}"' in page
    assert "The receiver answered 503" in page
    assert delivery.message_id in page
    assert resent.status_code == 302
    assert resent["Location"] == "/notifications/deliveries/?state=failed"
    assert Delivery.objects.get(pk=delivery.pk).state == "pending"


def test_resend_never_redirects_off_the_log(browser_client, user):
    delivery = a_delivery(a_channel(user))

    resent = browser_client.post(f"/notifications/deliveries/{delivery.pk}/resend", {"next": "https://evil.example/"})

    assert resent["Location"] == "/notifications/deliveries/"


def test_it_rejects_other_users_channels_and_deliveries_as_missing(browser_client, django_user_model):
    stranger = django_user_model.objects.create_user(id=10**9 + 7, username="stranger")
    channel = a_channel(stranger)
    delivery = a_delivery(channel)
    DeliveryAttempt.objects.filter(delivery=delivery).update(response_excerpt="stranger's secret answer")

    answers = [
        browser_client.get(f"/notifications/channels/{channel.pk}/edit"),
        browser_client.post(f"/notifications/channels/{channel.pk}/test"),
        browser_client.post(f"/notifications/channels/{channel.pk}/rotate-secret"),
        browser_client.post(f"/notifications/channels/{channel.pk}/enable"),
        browser_client.get(f"/notifications/channels/{channel.pk}/delete"),
        browser_client.post(f"/notifications/channels/{channel.pk}/delete"),
        browser_client.post(f"/notifications/deliveries/{delivery.pk}/resend"),
    ]
    log = browser_client.get("/notifications/deliveries/", {"channel": channel.pk}).content.decode()

    assert [answer.status_code for answer in answers] == [404] * 7
    assert "stranger's secret answer" not in log
    assert Channel.objects.filter(pk=channel.pk).exists()


def test_page_forms_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    channel = a_channel(user)

    for path in [
        "/notifications/channels/new",
        f"/notifications/channels/{channel.pk}/test",
        f"/notifications/channels/{channel.pk}/rotate-secret",
        f"/notifications/channels/{channel.pk}/delete",
    ]:
        assert client.post(path).status_code == 403, path


def test_staff_see_channels_and_deliveries_in_the_admin_without_their_secrets(django_user_model, user):
    staff = django_user_model.objects.create_user(id=10**9 + 11, username="olga", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    channel = a_channel(user, headers={"Authorization": "Bearer shop-42"})
    delivery = a_delivery(channel)

    listing = client.get("/admin/notifications/channel/").content.decode()
    shown = client.get(f"/admin/notifications/channel/{channel.pk}/change/").content.decode()
    log = client.get(f"/admin/notifications/delivery/{delivery.pk}/change/").content.decode()

    assert "Ops hook" in listing
    assert channel.secret not in shown
    assert "shop-42" not in shown
    assert delivery.message_id in log
