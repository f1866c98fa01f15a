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
        """The status as people read it, in the pages' words ("rejected" and "set aside", see the README glossary)."""
        return _LABELS.get(self, self.value.capitalize())

    @classmethod
    def values(cls) -> list[str]:
        """The status words, in order (the API's choices and its OpenAPI enum)."""
        return [status.value for status in cls]


_LABELS = {JobStatus.COMPLETED_WITH_ERRORS: "Completed with rejected or set-aside rows"}


class JobStage(StrEnum):
    QUEUED = "queued"
    VALIDATE = "validate"
    PREVIEW = "preview"
    PARSE = "parse"
    DONE = "done"


FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS, JobStatus.FAILED})

# processing -> pending is the watchdog's resume; a finished job goes back to pending only by retry. A re-index of
# set-aside rows may leave a finished job with none (completed) or with its first indexed lines (no longer failed).
LEGAL_TRANSITIONS = {
    JobStatus.PENDING: frozenset({JobStatus.PROCESSING, JobStatus.FAILED}),
    JobStatus.PROCESSING: FINISHED | {JobStatus.PENDING},
    JobStatus.COMPLETED: frozenset({JobStatus.PENDING}),
    JobStatus.COMPLETED_WITH_ERRORS: frozenset({JobStatus.PENDING, JobStatus.COMPLETED}),
    JobStatus.FAILED: frozenset({JobStatus.PENDING, JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS}),
}

# What a finished job accounts for: every line is exactly one of these.
COUNT_NAMES = ("indexed", "dead_lettered", "fallback", "skipped_blank")
