"""Notification reads: a user's own channels, deliveries, alert rules, their runs and events (another user's answer
404, like missing ones)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from rest_framework import status

from config.errors import ApplicationError
from notifications.models import AlertEvent, AlertRule, Channel, Delivery, RuleEvaluation


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


def rule_list(*, user: AbstractBaseUser) -> QuerySet[AlertRule]:
    """The user's rules, each with its number of open events and the id of its latest run."""
    latest = RuleEvaluation.objects.filter(rule=OuterRef("pk")).order_by("-window_end", "-id").values("pk")[:1]
    return (
        AlertRule.objects.filter(owner=user)
        .annotate(
            open_events=Count("events", filter=Q(events__state=AlertEvent.State.FIRING)),
            last_run_id=Subquery(latest),
        )
        .prefetch_related("channels")
    )


def rule_get(*, user: AbstractBaseUser, rule_id: int) -> AlertRule:
    rule = rule_list(user=user).filter(pk=rule_id).first()
    if rule is None:
        raise ApplicationError("Alert rule not found", status.HTTP_404_NOT_FOUND)
    return rule


def rule_state(rule: AlertRule) -> str:
    """disabled, firing (an event is open), pending (never evaluated) or ok; `rule` comes from rule_list."""
    if not rule.enabled:
        return "disabled"
    if rule.open_events:
        return "firing"
    return "pending" if rule.last_evaluated_at is None else "ok"


def last_runs(rules: list[AlertRule]) -> dict[int, RuleEvaluation]:
    """The latest run of each of these rules (from rule_list), by rule id."""
    runs = RuleEvaluation.objects.filter(pk__in=[rule.last_run_id for rule in rules if rule.last_run_id])
    return {run.rule_id: run for run in runs}


def rule_evaluation_list(*, rule: AlertRule) -> QuerySet[RuleEvaluation]:
    return RuleEvaluation.objects.filter(rule=rule)


def alert_event_list(
    *, user: AbstractBaseUser, rule_id: int | None = None, state: str | None = None
) -> QuerySet[AlertEvent]:
    alert_events = AlertEvent.objects.filter(rule__owner=user).select_related("rule")
    if rule_id is not None:
        alert_events = alert_events.filter(rule_id=rule_id)
    if state:
        alert_events = alert_events.filter(state=state)
    return alert_events
