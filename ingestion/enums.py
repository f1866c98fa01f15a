"""The job's statuses and stages, and which status may follow which."""

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """The status as people read it: "Completed with errors"."""
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def values(cls) -> list[str]:
        """The status words, in order (the API's choices and its OpenAPI enum)."""
        return [status.value for status in cls]


class JobStage(StrEnum):
    QUEUED = "queued"
    VALIDATE = "validate"
    PREVIEW = "preview"
    PARSE = "parse"
    DONE = "done"


FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS, JobStatus.FAILED})

# processing -> pending is the watchdog's resume; a finished job goes back to pending only by retry.
LEGAL_TRANSITIONS = {
    JobStatus.PENDING: frozenset({JobStatus.PROCESSING, JobStatus.FAILED}),
    JobStatus.PROCESSING: FINISHED | {JobStatus.PENDING},
    JobStatus.COMPLETED: frozenset({JobStatus.PENDING}),
    JobStatus.COMPLETED_WITH_ERRORS: frozenset({JobStatus.PENDING}),
    JobStatus.FAILED: frozenset({JobStatus.PENDING}),
}

# What a finished job accounts for: every line is exactly one of these.
COUNT_NAMES = ("indexed", "dead_lettered", "fallback", "skipped_blank")
