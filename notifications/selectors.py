"""Notification reads: a user's own channels and their deliveries (another user's answer 404, like missing ones)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from rest_framework import status

from config.errors import ApplicationError
from notifications.models import Channel, Delivery


def channel_list(*, user: AbstractBaseUser) -> QuerySet[Channel]:
    return Channel.objects.filter(owner=user)


def channel_get(*, user: AbstractBaseUser, channel_id: int) -> Channel:
    channel = channel_list(user=user).filter(pk=channel_id).first()
    if channel is None:
        raise ApplicationError("Channel not found", status.HTTP_404_NOT_FOUND)
    return channel


def channels_shared_with(*, user: AbstractBaseUser) -> QuerySet[Channel]:
    """Enabled channels staff shared with everyone (other than the user's own): they hear the user's events too."""
    return Channel.objects.filter(shared=True, enabled=True).exclude(owner=user)


def delivery_list(
    *, user: AbstractBaseUser, channel_id: int | None = None, state: str | None = None
) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(channel__owner=user).select_related("channel")
    if channel_id is not None:
        deliveries = deliveries.filter(channel_id=channel_id)
    if state:
        deliveries = deliveries.filter(state=state)
    return deliveries


def delivery_get(*, user: AbstractBaseUser, delivery_id: int) -> Delivery:
    delivery = delivery_list(user=user).filter(pk=delivery_id).prefetch_related("attempt_log").first()
    if delivery is None:
        raise ApplicationError("Delivery not found", status.HTTP_404_NOT_FOUND)
    return delivery
