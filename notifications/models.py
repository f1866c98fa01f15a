"""Channels, deliveries and their attempts, and what the fraud watcher has already told (SQL database)."""

import uuid

from django.conf import settings
from django.db import models


def new_message_id() -> str:
    """A delivery's `webhook-id`: stable for every attempt and resend of that delivery."""
    return f"msg_{uuid.uuid4().hex}"


class Channel(models.Model):
    """Where a user's notifications go: a signed webhook, a Slack incoming webhook or an email address."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        SLACK = "slack", "Slack"
        EMAIL = "email", "Email"

    class Tier(models.TextChoices):
        REVIEW = "review", "Review and high"
        HIGH = "high", "High only"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.CharField(max_length=2000, blank=True)
    email = models.EmailField(blank=True)
    # Webhook only: extra request headers, {"Authorization": "Bearer ..."}.
    headers = models.JSONField(default=dict, blank=True)
    # Event types this channel hears (a JSON list; filtered in Python, since SQLite cannot query inside JSON).
    events = models.JSONField(default=list)
    # Fraud alerts at or above this tier.
    min_tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.HIGH)
    # Staff only: the channel hears every user's events, not just its owner's.
    shared = models.BooleanField(default=False)
    # Webhook signing keys (whsec_...): HMAC keys must be readable to sign, so they are stored as they are,
    # shown once and never logged. The previous one keeps signing until it expires (rotation).
    secret = models.CharField(max_length=80, blank=True)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"

    @property
    def target(self) -> str:
        """Where it sends, as shown on the pages."""
        return self.email if self.kind == self.Kind.EMAIL else self.url


class Delivery(models.Model):
    """One event for one channel: sent, retried on failure with backoff, and resent on request."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    event_type = models.CharField(max_length=40)
    # Whose event it is: a shared channel hears other users' events.
    event_owner_id = models.BigIntegerField(null=True, blank=True)
    # The creator's idempotency key: the same key never makes a second delivery on one channel ("" for none).
    key = models.CharField(max_length=200, blank=True, default="")
    # The exact JSON body {"type", "timestamp", "data"}, kept as text so every attempt signs the same bytes.
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts since the delivery was created or last resent: where it is in the retry schedule.
    series_attempts = models.PositiveIntegerField(default=0)
    # A pending delivery is sent once this time has passed; while an attempt runs it is pushed ahead (the claim).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "key"], condition=~models.Q(key=""), name="delivery_key_once_per_channel"
            )
        ]
        indexes = [
            models.Index(fields=["channel", "-created_at"], name="delivery_channel_recent"),
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.channel_id} ({self.state})"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: when, how long, what the receiver answered."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The first bytes of the receiver's answer (capped), as text.
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_once")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


class FraudAlertNotice(models.Model):
    """The tier a fraud alert was last announced at: a new alert or a changed tier is told once."""

    alert_id = models.BigIntegerField(unique=True)
    tier = models.CharField(max_length=10)
    # How many tier changes were announced (part of the deliveries' idempotency key).
    changes = models.PositiveIntegerField(default=0)
    notified_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"alert {self.alert_id} at {self.tier}"


class Cursor(models.Model):
    """How far a watcher has read a table (by time): the fraud watcher reads alerts updated after it."""

    name = models.CharField(max_length=40, unique=True)
    position = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.position:%Y-%m-%d %H:%M:%S}"


class AlertRule(models.Model):
    """A saved search watched on a schedule: it fires when its type's condition holds over a window of event time."""

    class Type(models.TextChoices):
        FREQUENCY = "frequency", "Frequency: at least N events"
        FLATLINE = "flatline", "Flatline: fewer than N events"
        SPIKE = "spike", "Spike: X times more, or fewer, than the window before"
        NEW_TERM = "new_term", "New term: a value not seen before"
        METRIC = "metric", "Metric: a sum, average, maximum or 95th percentile against a threshold"
        ANOMALY = "anomaly", "Anomaly: a series strays from its expected band"

    class Metric(models.TextChoices):
        SUM = "sum", "Sum"
        AVG = "avg", "Average"
        MAX = "max", "Maximum"
        P95 = "p95", "95th percentile"

    class Sensitivity(models.TextChoices):
        LOW = "low", "Low: only the clearest anomalies"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High: the smaller ones too"

    class Direction(models.TextChoices):
        # Metric rules.
        ABOVE = "above", "At or above the threshold"
        BELOW = "below", "Below the threshold"
        # Spike rules.
        UP = "up", "Up: X times more"
        DOWN = "down", "Down: X times fewer"
        BOTH = "both", "Either way"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices)
    # The saved search: /api/search's q and filters, {"q": "...", "status": ["404"], "geo.country_iso_code": ["US"]}.
    query = models.JSONField(default=dict, blank=True)
    window_seconds = models.PositiveIntegerField()
    # How often it is evaluated (beat looks for due rules every ALERT_RULES_SECONDS).
    every_seconds = models.PositiveIntegerField(default=60)
    # frequency, flatline: a count; spike: the least count of the larger window; metric: the metric's bound.
    threshold = models.FloatField(null=True, blank=True)
    # frequency: count per value of this field; new_term: its values; metric: the number field.
    field = models.CharField(max_length=200, blank=True)
    metric = models.CharField(max_length=5, choices=Metric.choices, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True)
    ratio = models.FloatField(null=True, blank=True)
    # anomaly: the series /api/anomalies follows (count, error_rate, sum:amount...), and how unusual fires it.
    series = models.CharField(max_length=210, blank=True)
    sensitivity = models.CharField(max_length=6, choices=Sensitivity.choices, blank=True)
    # new_term: how far back a value must be unseen.
    history_seconds = models.PositiveIntegerField(null=True, blank=True)
    # While an event keeps firing, told again at most this often (0: told once, when it fires).
    realert_seconds = models.PositiveIntegerField(default=0)
    notify_resolved = models.BooleanField(default=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="alert_rules")
    enabled = models.BooleanField(default=True)
    # The engine's state, in the database so a worker restart resumes it: the end (event time) of the last window
    # evaluated, and when the next evaluation is due (that end + every_seconds).
    last_window_end = models.DateTimeField(null=True, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["enabled", "next_due_at"], name="alert_rule_due")]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class RuleEvaluation(models.Model):
    """One run of a rule: the span of event time it covered, its value, and whether it fired (the run history)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="evaluations")
    evaluated_at = models.DateTimeField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # Windows judged: 1, or more when it caught up on time no earlier run covered (an outage).
    windows = models.PositiveIntegerField(default=1)
    # The last window's value (a count, a ratio's count, a metric; per value: the highest count; new_term: new values;
    # anomaly: the anomaly's peak value, none when the latest bucket is normal).
    value = models.FloatField(null=True, blank=True)
    fired = models.BooleanField(default=False)
    detail = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-window_end", "-id"]
        indexes = [models.Index(fields=["rule", "-window_end"], name="rule_evaluation_recent")]

    def __str__(self) -> str:
        return f"{self.rule_id} to {self.window_end:%Y-%m-%d %H:%M}"


class AlertEvent(models.Model):
    """A rule firing, per value of its field for per-value and new-term rules, until it resolves."""

    class State(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    # The field's value it fired for ("" when the rule counts all matches together).
    key = models.CharField(max_length=500, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.FIRING)
    # The value that fired it, and the latest while it kept firing.
    value = models.FloatField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    # The first window that fired (event time) and its matching documents' ids (`file_id:line`, the first ones).
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    documents = models.JSONField(default=list, blank=True)
    # What else the first window said: a spike's previous count, a new value's first time.
    detail = models.JSONField(default=dict, blank=True)
    search_path = models.CharField(max_length=4000)
    fired_at = models.DateTimeField()
    last_fired_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # When (event time) its channels were last told it fires, and how many times (the deliveries' key).
    notified_at = models.DateTimeField(null=True, blank=True)
    notices = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "key"], condition=models.Q(state="firing"), name="one_open_event_per_rule_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.key or '*'} {self.state}"
