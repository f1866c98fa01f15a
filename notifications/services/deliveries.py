"""Deliveries: created for the channels that hear an event, sent one claimed attempt at a time, resent on request."""

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework import status

from config.errors import ApplicationError
from notifications import events
from notifications.dispatch import delivery_queue
from notifications.kinds import SENDERS
from notifications.messages import body_for
from notifications.models import Channel, Delivery, DeliveryAttempt
from notifications.schedule import retry_delay
from notifications.services.channels import channel_count_failure, channel_count_success, channel_disable
from notifications.transport import Answer

logger = logging.getLogger(__name__)

TIER_RANK = {"review": 1, "high": 2}


def _hears(channel: Channel, event_type: str, data: dict) -> bool:
    if event_type not in channel.events:
        return False
    if event_type == events.FRAUD_ALERT:
        return TIER_RANK.get(data.get("tier"), 0) >= TIER_RANK[channel.min_tier]
    return True


def channels_listening(*, owner_id: int, event_type: str, data: dict, channel_ids: list[int] | None) -> list[Channel]:
    """The enabled channels of the owner (and shared ones) subscribed to this event, optionally only some of them."""
    channels = Channel.objects.filter(Q(owner_id=owner_id) | Q(shared=True), enabled=True)
    if channel_ids is not None:
        channels = channels.filter(pk__in=channel_ids)
    return [channel for channel in channels if _hears(channel, event_type, data)]


def _delivery_new(*, channel: Channel, event_type: str, owner_id: int, body: str, key: str) -> Delivery | None:
    """A new pending delivery, or None when this channel already has one under this key."""
    try:
        with transaction.atomic():
            return Delivery.objects.create(
                channel=channel,
                event_type=event_type,
                event_owner_id=owner_id,
                key=key,
                body=body,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        if key and Delivery.objects.filter(channel=channel, key=key).exists():
            return None
        raise


def _queue_after_commit(deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        transaction.on_commit(lambda delivery_id=delivery.pk: delivery_queue(delivery_id))


def deliveries_create(
    *,
    owner_id: int,
    event_type: str,
    data: dict,
    channel_ids: list[int] | None = None,
    key: str = "",
    at: dt.datetime | None = None,
) -> list[Delivery]:
    """One delivery per enabled channel hearing `event_type` for this owner, queued for sending; the new ones.

    See the package docstring for the contract (event types, data, keys).
    """
    if event_type not in events.EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}; known: {', '.join(events.EVENT_TYPES)}")
    body = body_for(event_type=event_type, data=data, at=at or timezone.now())
    created = []
    for channel in channels_listening(owner_id=owner_id, event_type=event_type, data=data, channel_ids=channel_ids):
        delivery = _delivery_new(channel=channel, event_type=event_type, owner_id=owner_id, body=body, key=key)
        if delivery is not None:
            created.append(delivery)
    _queue_after_commit(created)
    return created


def delivery_test(*, channel: Channel) -> Delivery:
    """A `test` event to this one channel, whatever it subscribes to."""
    if not channel.enabled:
        raise ApplicationError("This channel is disabled; enable it before sending a test.")
    data = {
        "message": f'The channel "{channel.name}" works: this is a test sent on request.',
        "channel": channel.name,
        "url": f"{settings.SITE_URL}/notifications/",
    }
    body = body_for(event_type=events.TEST, data=data, at=timezone.now())
    delivery = _delivery_new(channel=channel, event_type=events.TEST, owner_id=channel.owner_id, body=body, key="")
    _queue_after_commit([delivery])
    return delivery


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """A new series of attempts for a finished delivery: same body, same webhook-id, the retry schedule anew."""
    if not delivery.channel.enabled:
        raise ApplicationError("This channel is disabled; enable it before resending.")
    resent = Delivery.objects.filter(
        pk=delivery.pk, state__in=[Delivery.State.DELIVERED, Delivery.State.FAILED]
    ).update(
        state=Delivery.State.PENDING,
        series_attempts=0,
        next_attempt_at=timezone.now(),
        delivered_at=None,
        finished_at=None,
    )
    if resent != 1:
        raise ApplicationError("This delivery is still being sent.", status.HTTP_409_CONFLICT)
    _queue_after_commit([delivery])
    delivery.refresh_from_db()
    return delivery


def claim_lease() -> dt.timedelta:
    """How long a claimed attempt may take before a sweep takes it for lost (its worker died)."""
    longest = settings.NOTIFICATIONS_CONNECT_TIMEOUT + 2 * settings.NOTIFICATIONS_READ_TIMEOUT + settings.EMAIL_TIMEOUT
    return dt.timedelta(seconds=60 + 2 * longest)


def delivery_claim(*, delivery_id: int, now: dt.datetime) -> Delivery | None:
    """Take the due attempt of a pending delivery; None when it is not due or another worker took it.

    The update only matches the attempt count read here, so of two workers only one changes the row.
    """
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None or delivery.state != Delivery.State.PENDING:
        return None
    if delivery.next_attempt_at is None or delivery.next_attempt_at > now:
        return None
    claimed = Delivery.objects.filter(
        pk=delivery_id, state=Delivery.State.PENDING, attempts=delivery.attempts, next_attempt_at__lte=now
    ).update(
        attempts=F("attempts") + 1,
        series_attempts=F("series_attempts") + 1,
        next_attempt_at=now + claim_lease(),
    )
    if claimed != 1:
        return None
    return Delivery.objects.select_related("channel", "channel__owner").get(pk=delivery_id)


def _settle(delivery: Delivery, changes: dict) -> bool:
    """Write an attempt's outcome, only if the delivery is still the claimed attempt."""
    return bool(
        Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.PENDING, attempts=delivery.attempts).update(
            **changes
        )
    )


def _give_up(delivery: Delivery, answer: Answer, now: dt.datetime) -> None:
    _settle(delivery, {"state": Delivery.State.FAILED, "next_attempt_at": None, "finished_at": now})
    channel = delivery.channel
    if answer.status_code == 410 and channel.kind != Channel.Kind.EMAIL:
        channel_disable(
            channel=channel,
            reason=f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC: it asks for nothing more to be sent.",
            now=now,
        )
    else:
        channel_count_failure(channel=channel, last_error=answer.error, now=now)


def _outcome(delivery: Delivery, answer: Answer, now: dt.datetime) -> None:
    """Delivered, retried later (backoff with jitter), or failed; the channel learns which."""
    if answer.succeeded:
        _settle(
            delivery,
            {"state": Delivery.State.DELIVERED, "next_attempt_at": None, "delivered_at": now, "finished_at": now},
        )
        channel_count_success(channel=delivery.channel)
        return
    delay = None
    if not answer.refused and answer.status_code != 410:
        delay = retry_delay(failed_attempts=delivery.series_attempts, delays=settings.NOTIFICATIONS_RETRY_DELAYS)
    if delay is None:
        _give_up(delivery, answer, now)
        return
    scheduled = _settle(delivery, {"next_attempt_at": now + dt.timedelta(seconds=delay)})
    # A countdown held longer than the broker's visibility timeout would be handed out again: longer waits are
    # left to the beat sweep of due deliveries.
    if scheduled and delay < settings.LOGS_TASK_VISIBILITY_SECONDS / 2:
        delivery_queue(delivery.pk, countdown=delay)


def _attempt(channel: Channel, delivery: Delivery, now: dt.datetime) -> Answer:
    """The sender's answer; a bug in a sender is logged and recorded as a failed attempt, not left claimed."""
    try:
        return SENDERS[channel.kind](channel=channel, delivery=delivery, now=now)
    except Exception as error:
        logger.exception("sending delivery %s failed unexpectedly", delivery.pk)
        return Answer(None, error=f"Internal error while sending ({type(error).__name__})")


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> Delivery | None:
    """Make the due attempt of a delivery if this worker can claim it, and record what the receiver said."""
    now = now or timezone.now()
    delivery = delivery_claim(delivery_id=delivery_id, now=now)
    if delivery is None:
        return None
    channel = delivery.channel
    if not channel.enabled:
        _settle(
            delivery,
            {
                "state": Delivery.State.FAILED,
                "next_attempt_at": None,
                "finished_at": now,
                "last_error": "Not sent: the channel is disabled.",
            },
        )
        return delivery
    answer = _attempt(channel, delivery, now)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=now,
        duration_ms=answer.duration_ms,
        status_code=answer.status_code,
        response_excerpt=answer.excerpt,
        error=answer.error,
    )
    Delivery.objects.filter(pk=delivery.pk).update(last_status_code=answer.status_code, last_error=answer.error)
    _outcome(delivery, answer, timezone.now())
    delivery.refresh_from_db()
    return delivery


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose attempt is due (a retry, a lost message, a worker that died mid-attempt), queued."""
    due = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now or timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        delivery_queue(delivery_id)
    return due
