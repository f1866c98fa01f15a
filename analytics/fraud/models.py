"""Fraud alerts, their review history, per-event scores, and the analyst's rule settings (SQL database)."""

from django.conf import settings
from django.db import models


class FraudRuleSetting(models.Model):
    """An analyst's change to a rule's default points or thresholds; a rule without a row uses its defaults."""

    rule = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=True)
    points = models.PositiveSmallIntegerField()
    params = models.JSONField(default=dict, blank=True, help_text='thresholds, e.g. {"days": 14}')
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.rule


class FraudAlert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        DISMISSED = "dismissed", "Dismissed"
        CONFIRMED = "confirmed_fraud", "Confirmed fraud"

    class Tier(models.TextChoices):
        REVIEW = "review", "Review"
        HIGH = "high", "High"

    # owner:entity_type:entity: one alert per entity of an owner, so a re-run updates instead of duplicating.
    key = models.CharField(max_length=300, unique=True)
    owner_id = models.BigIntegerField(db_index=True)
    entity_type = models.CharField(max_length=20)
    entity = models.CharField(max_length=200)
    rules = models.JSONField(default=list)
    # The same rules as ",amount_p90,velocity,": filtering a JSON list is not portable to SQLite.
    rule_list = models.CharField(max_length=500, default="", db_index=True)
    score = models.PositiveSmallIntegerField()
    tier = models.CharField(max_length=10, choices=Tier.choices, db_index=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    event_count = models.PositiveIntegerField(default=0)
    evidence = models.JSONField(default=list)
    job_ids = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    status_note = models.TextField(blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score", "-last_seen"]

    def __str__(self) -> str:
        return f"{self.tier} {self.entity_type} {self.entity}"


class FraudAlertChange(models.Model):
    """Who moved an alert from one status to another, when, and why."""

    alert = models.ForeignKey(FraudAlert, on_delete=models.CASCADE, related_name="changes")
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    note = models.TextField(blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status}"


class FraudSignal(models.Model):
    """The score and rules of one scored event (the backtest compares them with the event's label)."""

    doc_id = models.CharField(max_length=200, unique=True)
    owner_id = models.BigIntegerField(db_index=True)
    job_id = models.CharField(max_length=64, db_index=True)
    time = models.DateTimeField()
    score = models.PositiveSmallIntegerField()
    rules = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.doc_id}: {self.score}"
