"""Webhook deliveries through the real worker to a real receiver on loopback: signatures, retries, disabling."""

import datetime as dt
import threading

import pytest
from django.utils import timezone

from notifications import tasks
from notifications.models import Channel, Delivery
from notifications.services.deliveries import delivery_send
from notifications.transport import RESPONSE_CAP
from tests.conftest import wait_until
from tests.helpers import worker_paused
from tests.notifications.conftest import webhook_channel
from tests.notifications.receivers import Huge, Pause, Redirect

pytestmark = pytest.mark.django_db(transaction=True)


def send_test(client, channel: dict) -> dict:
    response = client.post(f"/api/notifications/channels/{channel['id']}/test")
    assert response.status_code == 202, response.json()
    return response.json()


def finished(client, delivery_id: int) -> dict:
    """The delivery (with its attempts) once it is delivered or failed."""

    def settled():
        delivery = client.get(f"/api/notifications/deliveries/{delivery_id}").json()
        return delivery if delivery["state"] != "pending" else None

    return wait_until(settled, attempts=300)


def test_a_test_event_arrives_signed_per_standard_webhooks(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)

    queued = send_test(api_client, channel)
    request = receiver.wait_for(1)[0]
    delivery = finished(api_client, queued["id"])

    assert request.verified_by == [0]
    assert request.headers["webhook-id"] == delivery["message_id"] == queued["message_id"]
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    assert set(request.json) == {"type", "timestamp", "data"}
    assert request.json["type"] == "test"
    assert request.json["data"]["url"] == "http://testserver/notifications/"
    assert delivery["state"] == "delivered"
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 200
    assert delivery["delivered_at"] is not None
    assert delivery["attempt_log"][0]["status_code"] == 200
    assert delivery["attempt_log"][0]["response_excerpt"] == "answer 200"


def test_the_channels_own_headers_are_sent_beside_the_signature(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver, headers={"Authorization": "Bearer shop-42", "X-Team": "ops"})

    send_test(api_client, channel)
    request = receiver.wait_for(1)[0]

    assert request.headers["authorization"] == "Bearer shop-42"
    assert request.headers["x-team"] == "ops"
    assert request.verified_by == [0]


def test_a_500_is_retried_after_the_backoff_with_the_same_webhook_id(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    receiver.answer_with(500)

    queued = send_test(api_client, channel)
    first, second = receiver.wait_for(2)
    delivery = finished(api_client, queued["id"])

    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery["message_id"]
    assert first.body == second.body
    assert first.verified_by == second.verified_by == [0]
    assert [attempt["status_code"] for attempt in delivery["attempt_log"]] == [500, 200]
    assert delivery["attempt_log"][0]["error"] == "The receiver answered 500"
    assert delivery["state"] == "delivered"
    assert delivery["attempts"] == 2
    # The first retry waits NOTIFICATIONS_RETRY_DELAYS[0] (1 s in the tests) less at most 20 % jitter.
    times = [dt.datetime.fromisoformat(attempt["started_at"]) for attempt in delivery["attempt_log"]]
    assert times[1] - times[0] >= dt.timedelta(seconds=0.8)


def test_a_receiver_that_keeps_the_request_waiting_is_given_up_on_and_retried(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    receiver.answer_with(Pause(4))

    queued = send_test(api_client, channel)
    delivery = finished(api_client, queued["id"])

    assert delivery["state"] == "delivered"
    first, second = delivery["attempt_log"]
    assert first["status_code"] is None
    assert first["error"].startswith("No answer in time")
    assert second["status_code"] == 200


def test_a_delivery_failing_every_attempt_is_marked_failed_after_the_last(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    receiver.answer_with(503, 502, 500)

    queued = send_test(api_client, channel)
    delivery = finished(api_client, queued["id"])
    after = api_client.get(f"/api/notifications/channels/{channel['id']}").json()

    # NOTIFICATIONS_RETRY_DELAYS is "1,2" in the tests: the first attempt and two retries.
    assert [attempt["status_code"] for attempt in delivery["attempt_log"]] == [503, 502, 500]
    assert delivery["state"] == "failed"
    assert delivery["last_status_code"] == 500
    assert delivery["delivered_at"] is None
    assert after["enabled"] is True
    assert after["consecutive_failures"] == 1
    assert len(receiver.received) == 3


def test_a_410_disables_the_channel_at_once(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    receiver.answer_with(410)

    queued = send_test(api_client, channel)
    delivery = finished(api_client, queued["id"])
    after = api_client.get(f"/api/notifications/channels/{channel['id']}").json()
    again = api_client.post(f"/api/notifications/channels/{channel['id']}/test")

    assert delivery["state"] == "failed"
    assert delivery["attempts"] == 1
    assert after["enabled"] is False
    assert "410 Gone" in after["disabled_reason"]
    assert again.status_code == 400
    assert again.json()["error"] == "This channel is disabled; enable it before sending a test."
    assert len(receiver.received) == 1


def test_deliveries_failing_in_a_row_disable_the_channel_and_its_owner_is_told(
    celery_worker, api_client, user, receiver, mailbox
):
    user.email = "ana@shop.example"
    user.save()
    channel = webhook_channel(api_client, receiver)
    receiver.answer_with(*[500] * 9)

    # NOTIFICATIONS_DISABLE_AFTER is 3 in the tests.
    for _ in range(3):
        finished(api_client, send_test(api_client, channel)["id"])
    after = api_client.get(f"/api/notifications/channels/{channel['id']}").json()
    [notice] = mailbox.wait_for(1)

    assert after["enabled"] is False
    assert after["disabled_reason"].startswith("Its last 3 deliveries failed; the last one: The receiver answered 500")
    assert notice["To"] == "ana@shop.example"
    assert notice["Subject"] == "[Log platform] Notification channel disabled: Ops hook"
    assert "Its last 3 deliveries failed" in notice.get_content()


def test_a_success_clears_the_count_of_failures_in_a_row(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    receiver.answer_with(500, 500, 500)
    finished(api_client, send_test(api_client, channel)["id"])

    finished(api_client, send_test(api_client, channel)["id"])

    assert api_client.get(f"/api/notifications/channels/{channel['id']}").json()["consecutive_failures"] == 0


def test_resend_starts_a_new_series_with_the_same_webhook_id(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    queued = send_test(api_client, channel)
    finished(api_client, queued["id"])

    with worker_paused():
        resent = api_client.post(f"/api/notifications/deliveries/{queued['id']}/resend")
        while_pending = api_client.post(f"/api/notifications/deliveries/{queued['id']}/resend")
    first, second = receiver.wait_for(2)
    delivery = finished(api_client, queued["id"])

    assert resent.status_code == 202
    assert resent.json()["state"] == "pending"
    assert while_pending.status_code == 409
    assert while_pending.json() == {"success": False, "error": "This delivery is still being sent."}
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == queued["message_id"]
    assert first.body == second.body
    assert second.verified_by == [0]
    assert delivery["state"] == "delivered"
    assert [attempt["number"] for attempt in delivery["attempt_log"]] == [1, 2]


def test_a_redirect_is_not_followed(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    receiver.answer_with(*[Redirect(receiver.url + "/elsewhere")] * 3)

    delivery = finished(api_client, send_test(api_client, channel)["id"])

    assert delivery["state"] == "failed"
    assert [request.path for request in receiver.received] == ["/hook"] * 3
    assert delivery["attempt_log"][0]["status_code"] == 302
    assert delivery["attempt_log"][0]["error"] == f"Redirect to {receiver.url}/elsewhere not followed"


def test_a_huge_answer_is_read_only_up_to_the_cap(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    size = 200 * 2**20
    receiver.answer_with(Huge(size))

    delivery = finished(api_client, send_test(api_client, channel)["id"])

    assert delivery["state"] == "delivered"
    assert delivery["attempt_log"][0]["response_excerpt"] == "x" * RESPONSE_CAP
    # The sender closed the connection after its cap: most of the body could never be written.
    assert receiver.huge_written < size // 2


def test_two_workers_claiming_one_attempt_send_it_once(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    with worker_paused():
        delivery_id = send_test(api_client, channel)["id"]
        start = threading.Barrier(4)

        def worker():
            start.wait()
            delivery_send(delivery_id=delivery_id)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.state == Delivery.State.DELIVERED
    assert delivery.attempts == 1
    assert len(receiver.received) == 1
    assert Channel.objects.get(pk=channel["id"]).consecutive_failures == 0


def test_a_target_is_checked_again_when_sending(celery_worker, api_client, receiver, settings):
    channel = webhook_channel(api_client, receiver)
    with worker_paused():
        delivery_id = send_test(api_client, channel)["id"]
        # The channel was accepted, but by the time of sending private targets are no longer allowed (as when
        # a public name has been re-pointed at a private address).
        settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False
        delivery_send(delivery_id=delivery_id)

    delivery = api_client.get(f"/api/notifications/deliveries/{delivery_id}").json()

    assert delivery["state"] == "failed"  # at once: retrying would not make the address public
    assert delivery["attempts"] == 1
    assert delivery["attempt_log"][0]["error"] == (
        "Refused: 127.0.0.1 is a loopback address. Notifications go only to public addresses."
    )
    assert receiver.received == []


def test_a_delivery_whose_message_was_lost_is_sent_by_the_sweep(celery_worker, api_client, receiver):
    channel = webhook_channel(api_client, receiver)
    now = timezone.now()
    # Never queued (the broker was down), and one whose worker died mid-attempt (its claim has lapsed).
    lost = Delivery.objects.create(
        channel_id=channel["id"], event_type="test", body='{"type":"test","data":{}}', next_attempt_at=now
    )
    abandoned = Delivery.objects.create(
        channel_id=channel["id"],
        event_type="test",
        body='{"type":"test","data":{}}',
        attempts=1,
        series_attempts=1,
        next_attempt_at=now - dt.timedelta(seconds=1),
    )

    tasks.deliveries_due_sweep.delay().get(timeout=60)
    receiver.wait_for(2)

    assert {request.headers["webhook-id"] for request in receiver.received} == {lost.message_id, abandoned.message_id}
    assert finished(api_client, lost.pk)["state"] == "delivered"
    assert finished(api_client, abandoned.pk)["attempts"] == 2
