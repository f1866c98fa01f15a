"""The job of one upload as a typed value, converted to and from its MongoDB document."""

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from ingestion.chunking import Chunk
from ingestion.enums import COUNT_NAMES, FINISHED, JobStage, JobStatus
from ingestion.formats import FileFormat


def zero_counts(total_lines: int) -> dict[str, int]:
    return {"total_lines": total_lines, **dict.fromkeys(COUNT_NAMES, 0)}


@dataclass(frozen=True)
class Job:
    job_id: str
    file_id: str
    owner_id: int
    owner_name: str
    filename: str
    file_type: str
    file_size: int
    sha256: str
    stored_name: str
    source_name: str
    format: FileFormat
    total_lines: int
    preview: list[dict]
    timestamp_field: str
    log_type: str
    created_at: dt.datetime
    status: JobStatus = JobStatus.PENDING
    stage: JobStage = JobStage.QUEUED
    attempt: int = 1
    counts: dict[str, int] = field(default_factory=dict)
    indices: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    stages: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    dispatched_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    # Set by the validate and preview stages.
    pipeline_source: str | None = None
    plan: list[Chunk] = field(default_factory=list)
    field_types: dict[str, str] = field(default_factory=dict)
    numeric_columns: dict[str, str] = field(default_factory=dict)
    # The file's date order: True reads '01/12/2010' as 1 December (False, as for jobs recorded before it, 12 January).
    day_first: bool = False
    geo: dict[str, int] = field(default_factory=dict)
    resumed: bool = False
    # The job of an earlier upload of the very same file (same sha256) by the same user, if any.
    duplicate_of: str | None = None
    # The most event days this job may have (LOGS_MAX_DAYS_PER_JOB when it was uploaded or retried), so every
    # chunk applies the same limit whichever worker runs it; None for jobs recorded before the limit existed.
    day_limit: int | None = None
    # The last re-index of the set-aside rows: {"run", "status" (queued, done, failed), "requested_at",
    # "finished_at", "moved", "still_set_aside", "reason"}; None when there has been none this attempt.
    reindex: dict | None = None
    # What the retention policy removed: {"events_deleted_at", "events_deleted", "events_days", "file_deleted_at",
    # "file_days", "dead_letters_deleted_at", "dead_letters_deleted"}; the counts stay as the job indexed them.
    retention: dict = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def preview_lines(self) -> int:
        return len(self.preview)

    @property
    def chunks_total(self) -> int:
        return len(self.plan)

    def to_document(self) -> dict:
        document = {name: to_stored(name, getattr(self, name)) for name in FIELD_NAMES}
        return {"_id": self.job_id, **document}

    @classmethod
    def from_document(cls, document: dict) -> "Job":
        values = {name: document[name] for name in FIELD_NAMES if name in document}
        values["format"] = FileFormat.from_dict(values["format"])
        values["plan"] = [Chunk.from_dict(chunk) for chunk in values.get("plan") or []]
        values["status"] = JobStatus(values["status"])
        values["stage"] = JobStage(values["stage"])
        return cls(**values)


FIELD_NAMES = tuple(item.name for item in dataclasses.fields(Job))


def to_stored(name: str, value: object) -> object:
    """A Job field's value as MongoDB stores it."""
    if name == "format":
        return value.to_dict()
    if name == "plan":
        return [chunk.to_dict() for chunk in value]
    if isinstance(value, JobStatus | JobStage):
        return value.value
    return value
