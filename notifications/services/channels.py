"""Channels: create, change, rotate a webhook's secret, delete; disabled after 410 or repeated failures."""

import datetime as dt
import logging
import re
import smtplib

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from config.errors import ApplicationError
from notifications import events
from notifications.models import Channel
from notifications.signing import secret_new
from notifications.targets import target_check

logger = logging.getLogger(__name__)

# After a rotation the previous secret keeps signing this long, so receivers can switch without a gap.
ROTATION_GRACE = dt.timedelta(hours=24)
MAX_HEADERS = 20
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")
# Headers the platform sets itself (transport and signature); a channel may not replace them.
RESERVED_HEADERS = {
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "accept-encoding",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
}


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 100:
        raise ApplicationError("Give the channel a name of 1 to 100 characters.")
    return name


def _events(values: list[str]) -> list[str]:
    unknown = [value for value in values if value not in events.EVENT_TYPES]
    if unknown:
        raise ApplicationError(f"Unknown event {unknown[0]!r}; choose from {', '.join(events.EVENT_TYPES)}.")
    if not values:
        raise ApplicationError("Choose at least one event for the channel.")
    return list(dict.fromkeys(values))


def _url(value: str) -> str:
    if not value.strip():
        raise ApplicationError("A webhook or Slack channel needs a URL.")
    target_check(value, allow_private=settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS)
    return value.strip()


def _email(value: str) -> str:
    try:
        validate_email(value.strip())
    except ValidationError:
        raise ApplicationError("An email channel needs a valid email address.") from None
    return value.strip()


def _headers(values: dict) -> dict[str, str]:
    if len(values) > MAX_HEADERS:
        raise ApplicationError(f"A channel may set at most {MAX_HEADERS} headers.")
    checked = {}
    for name, value in values.items():
        if not HEADER_NAME.fullmatch(str(name)):
            raise ApplicationError(f"{str(name)[:100]!r} is not a valid header name.")
        if name.lower() in RESERVED_HEADERS:
            raise ApplicationError(f"The header {name} is set by the platform and cannot be changed.")
        if not isinstance(value, str) or len(value) > 1000 or any(char in value for char in "\r\n\0"):
            raise ApplicationError(f"The value of {name} must be one line of at most 1,000 characters.")
        checked[name] = value
    return checked


def _shared(value: bool, user: AbstractBaseUser) -> bool:
    if value and not user.is_staff:
        raise ApplicationError("Only staff may share a channel with everyone.")
    return value


def _target_fields(*, kind: str, url: str, email: str, headers: dict) -> dict:
    """The fields that say where a channel of this kind sends, checked; the others cleared."""
    if kind == Channel.Kind.EMAIL:
        return {"email": _email(email), "url": "", "headers": {}}
    fields = {"url": _url(url), "email": ""}
    fields["headers"] = _headers(headers) if kind == Channel.Kind.WEBHOOK else {}
    return fields


def channel_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    kind: str,
    events: list[str],
    url: str = "",
    email: str = "",
    headers: dict | None = None,
    min_tier: str = Channel.Tier.HIGH,
    shared: bool = False,
) -> Channel:
    """A new channel; a webhook gets its signing secret (on `channel.secret`, to be shown this once)."""
    if kind not in Channel.Kind.values:
        raise ApplicationError(f"Unknown kind {kind!r}; choose webhook, slack or email.")
    if min_tier not in Channel.Tier.values:
        raise ApplicationError("The fraud tier must be review or high.")
    return Channel.objects.create(
        owner=owner,
        name=_name(name),
        kind=kind,
        events=_events(events),
        min_tier=min_tier,
        shared=_shared(shared, owner),
        secret=secret_new() if kind == Channel.Kind.WEBHOOK else "",
        **_target_fields(kind=kind, url=url, email=email, headers=headers or {}),
    )


def channel_update(*, channel: Channel, user: AbstractBaseUser, **changes) -> Channel:
    """Change some of name, url, email, headers, events, min_tier, shared, enabled; the kind stays.

    Enabling a disabled channel clears its reason and its count of failures.
    """
    if changes.get("kind", channel.kind) != channel.kind:
        raise ApplicationError("A channel's kind cannot change; create a new channel instead.")
    if "name" in changes:
        channel.name = _name(changes["name"])
    if "events" in changes:
        channel.events = _events(changes["events"])
    if "min_tier" in changes:
        if changes["min_tier"] not in Channel.Tier.values:
            raise ApplicationError("The fraud tier must be review or high.")
        channel.min_tier = changes["min_tier"]
    if "shared" in changes:
        channel.shared = _shared(changes["shared"], user)
    if {"url", "email", "headers"} & set(changes):
        targets = _target_fields(
            kind=channel.kind,
            url=changes.get("url", channel.url),
            email=changes.get("email", channel.email),
            headers=changes.get("headers", channel.headers),
        )
        for field, value in targets.items():
            setattr(channel, field, value)
    if changes.get("enabled") and not channel.enabled:
        channel.enabled, channel.disabled_reason, channel.disabled_at, channel.consecutive_failures = True, "", None, 0
    elif changes.get("enabled") is False and channel.enabled:
        # Switched off by its owner: no reason, so no warning in the navigation.
        channel.enabled, channel.disabled_reason, channel.disabled_at = False, "", timezone.now()
    channel.save()
    return channel


def channel_rotate_secret(*, channel: Channel, now: dt.datetime | None = None) -> Channel:
    """A new signing secret; the current one keeps signing beside it for 24 hours."""
    if channel.kind != Channel.Kind.WEBHOOK:
        raise ApplicationError("Only webhook channels have a signing secret.")
    now = now or timezone.now()
    channel.previous_secret, channel.previous_secret_expires_at = channel.secret, now + ROTATION_GRACE
    channel.secret = secret_new()
    channel.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return channel


def channel_delete(*, channel: Channel) -> None:
    """The channel and its delivery log."""
    channel.delete()


def _tell_owner(channel: Channel) -> None:
    """Email the owner that their channel was disabled (when they have an address); a mail failure is logged."""
    owner = channel.owner
    if not owner.email:
        return
    body = render_to_string(
        "notifications/email/channel_disabled.txt", {"channel": channel, "url": f"{settings.SITE_URL}/notifications/"}
    )
    try:
        send_mail(f"[Log platform] Notification channel disabled: {channel.name}", body, None, [owner.email])
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("could not email the owner of channel %s that it was disabled: %s", channel.pk, error)


def channel_disable(*, channel: Channel, reason: str, now: dt.datetime) -> bool:
    """Stop sending to a channel and tell its owner why; False when it was already disabled."""
    if not Channel.objects.filter(pk=channel.pk, enabled=True).update(
        enabled=False, disabled_reason=reason, disabled_at=now
    ):
        return False
    channel.refresh_from_db()
    logger.warning("notification channel %s disabled: %s", channel.pk, reason)
    _tell_owner(channel)
    return True


def channel_count_failure(*, channel: Channel, last_error: str, now: dt.datetime) -> None:
    """One more failed delivery in a row; at NOTIFICATIONS_DISABLE_AFTER the channel is disabled."""
    Channel.objects.filter(pk=channel.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = Channel.objects.values_list("consecutive_failures", flat=True).get(pk=channel.pk)
    if failures >= settings.NOTIFICATIONS_DISABLE_AFTER:
        channel_disable(
            channel=channel,
            reason=f"Its last {failures} deliveries failed; the last one: {last_error or 'no answer'}.",
            now=now,
        )


def channel_count_success(*, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).exclude(consecutive_failures=0).update(consecutive_failures=0)
