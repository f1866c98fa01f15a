"""Retention: each user's policy (and the staff default), and the audit of every retention run, step by step."""

from django.db import models

DAYS_HELP = "empty keeps them for ever"


class RetentionPolicy(models.Model):
    """How long a user's data is kept; the row without a user is the staff default for everyone.

    An empty figure on a user's row means "as the default says"; an empty default keeps that data for ever
    (the behaviour before retention existed: nothing is deleted unless someone sets a policy).
    """

    # The user's id, as jobs and documents carry it (null on the default row).
    owner_id = models.BigIntegerField(null=True, blank=True, unique=True)
    upload_events_days = models.PositiveIntegerField(null=True, blank=True, help_text=f"after upload; {DAYS_HELP}")
    stream_events_days = models.PositiveIntegerField(null=True, blank=True, help_text=f"by event day; {DAYS_HELP}")
    files_days = models.PositiveIntegerField(null=True, blank=True, help_text=f"after upload; {DAYS_HELP}")
    dead_letters_days = models.PositiveIntegerField(null=True, blank=True, help_text=f"after upload; {DAYS_HELP}")
    updated_at = models.DateTimeField(auto_now=True)
    # True on the default row, null on users' rows: unique, so there is one default at most (nulls never clash).
    is_default = models.BooleanField(null=True, unique=True, editable=False)

    def __str__(self) -> str:
        return "default retention policy" if self.is_default else f"retention policy of user {self.owner_id}"


class RetentionRun(models.Model):
    """One application of the policies; an unfinished run is resumed (same id) by the next start."""

    run_id = models.CharField(max_length=32, unique=True)
    # The moment the policies were measured from: a resumed run decides exactly as the interrupted one did.
    cutoff_at = models.DateTimeField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=20)  # beat, command, api
    resumes = models.PositiveIntegerField(default=0)
    # True while the run is unfinished, null after: unique, so two starts at once make one run (the other resumes it).
    is_open = models.BooleanField(null=True, unique=True, editable=False, default=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"retention run {self.run_id}"


class RetentionStep(models.Model):
    """One claimed unit of a run (a job's events, its file, its dead letters, a whole index, a stream's day).

    The unique (run, key) insert is the claim; `done_at` says it finished and the figures are what it deleted,
    taken when it was claimed, so a step redone after a crash counts nothing twice.
    """

    class Kind(models.TextChoices):
        JOB_EVENTS = "job_events"
        JOB_FILE = "job_file"
        DEAD_LETTERS = "dead_letters"
        INDEX = "index"
        STREAM_EVENTS = "stream_events"

    run = models.ForeignKey(RetentionRun, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    owner_id = models.BigIntegerField(null=True, blank=True)  # None: a whole index shared by several owners
    target = models.CharField(max_length=200)  # a job id, an index name
    documents = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    files = models.PositiveIntegerField(default=0)
    dead_letters = models.BigIntegerField(default=0)
    claimed_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["claimed_at", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="one_claim_per_step")]

    def __str__(self) -> str:
        return f"{self.kind} {self.target}"
