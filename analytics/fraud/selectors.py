"""Fraud reads: the alerts a user may see (their own events' alerts; staff: all), filtered and paged."""

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, OuterRef, QuerySet, Subquery
from rest_framework import status

from analytics.fraud.models import FraudAlert
from config.errors import ApplicationError
from ingestion.contract import jobs_by_id


def alerts_visible(user: AbstractBaseUser) -> QuerySet[FraudAlert]:
    """The alerts `user` may see, each with `uploader`: the username of the user whose uploads it is about."""
    # owner_id is the plain number the documents carry, not a foreign key: a subquery names the user.
    usernames = get_user_model().objects.filter(pk=OuterRef("owner_id")).values("username")[:1]
    alerts = FraudAlert.objects.annotate(uploader=Subquery(usernames))
    return alerts if user.is_staff else alerts.filter(owner_id=user.pk)


def alert_uploads(*, alerts: Iterable[FraudAlert], user: AbstractBaseUser) -> dict[str, str]:
    """The file name of each job behind the alerts, by job id, in one query (a deleted job is left out)."""
    jobs = jobs_by_id(job_ids=[job_id for alert in alerts for job_id in alert.job_ids], user=user)
    return {job_id: job.filename for job_id, job in jobs.items()}


def alert_list(
    *,
    user: AbstractBaseUser,
    status_filter: str | None = None,
    tier: str | None = None,
    rule: str | None = None,
    entity: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[FraudAlert]:
    alerts = alerts_visible(user)
    if status_filter:
        alerts = alerts.filter(status=status_filter)
    if tier:
        alerts = alerts.filter(tier=tier)
    if rule:
        alerts = alerts.filter(rule_list__contains=f",{rule},")
    if entity:
        alerts = alerts.filter(entity__icontains=entity)
    if since:
        alerts = alerts.filter(last_seen__gte=since)
    if until:
        alerts = alerts.filter(first_seen__lte=until)
    return alerts.select_related("status_changed_by")


def alert_get(*, user: AbstractBaseUser, alert_id: int) -> FraudAlert:
    # Another user's alert is reported exactly like a missing one.
    alert = alerts_visible(user).filter(pk=alert_id).select_related("status_changed_by").first()
    if alert is None:
        raise ApplicationError("Alert not found", status.HTTP_404_NOT_FOUND)
    return alert


def alert_counts(*, user: AbstractBaseUser) -> dict:
    """Open and acknowledged alerts by tier, for the dashboard and the queue's header."""
    rows = alerts_visible(user).values("status", "tier").annotate(count=Count("id"))
    counts = {"open": 0, "acknowledged": 0, "open_high": 0}
    for row in rows:
        if row["status"] in ("open", "acknowledged"):
            counts[row["status"]] += row["count"]
        if row["status"] == "open" and row["tier"] == "high":
            counts["open_high"] += row["count"]
    return counts
