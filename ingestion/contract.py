"""Ingestion's one public module for readers (analytics, notifications): everything they may rely on, by name.

It re-exports rather than holds the code: the document contract (`documents.py`) and the field-name
conventions (`field_names.py`) are also what ingestion itself writes with, so they stay beside the writers,
and this module only says which of their names are promised to readers. Anything not listed in `__all__` is
ingestion's own business and may change; `tests/config/test_layers.py` lets readers import nothing else.

The imports group the promised names by subject: the documents in Elasticsearch (the alias to search, the
fields every document may carry, a streamed event's `stream` and `stream_id` and every event's `ingested_at`
among them), the field-name conventions (customer, card, device, country, category, order, verdict columns), the
log type labels, job reads scoped to what a user may see, the events' data version and the jobs' version
(readers cache until they change), the outbox of "job finished" and "stream window closed" events (read an event,
claim it once per consumer), the live feed of indexed batches (live tails), and storage used per user with the last
retention run.
"""

from ingestion.data_version import data_version, jobs_version
from ingestion.documents import CANONICAL_FIELDS, NESTED_FIELDS, TEXT_SUBFIELD, day_of_daily_index, events_alias
from ingestion.field_names import (
    BILLING_COUNTRY_FIELDS,
    CARD_FIELDS,
    CATEGORY_FIELDS,
    DECLINE_FIELDS,
    DEVICE_FIELDS,
    LABEL_FIELDS,
    ORDER_FIELDS,
    find_field,
    normalize_name,
    normalized,
)
from ingestion.live import IndexedBatch, live_feed_end, live_feed_read
from ingestion.log_types import LOG_TYPE_LABELS
from ingestion.selectors import (
    ingest_activity,
    job_get,
    jobs_by_id,
    jobs_by_status,
    jobs_finished_recently,
    shard_budget,
    storage_used,
)
from ingestion.services.events import job_event_claim, job_event_get, job_event_handled, job_events_unclaimed
from ingestion.services.retention import retention_last_run
from ingestion.stream import STREAM_WINDOW_CLOSED

__all__ = [
    "BILLING_COUNTRY_FIELDS",
    "CANONICAL_FIELDS",
    "CARD_FIELDS",
    "CATEGORY_FIELDS",
    "DECLINE_FIELDS",
    "DEVICE_FIELDS",
    "LABEL_FIELDS",
    "LOG_TYPE_LABELS",
    "NESTED_FIELDS",
    "ORDER_FIELDS",
    "STREAM_WINDOW_CLOSED",
    "TEXT_SUBFIELD",
    "IndexedBatch",
    "data_version",
    "day_of_daily_index",
    "events_alias",
    "find_field",
    "ingest_activity",
    "job_event_claim",
    "job_event_get",
    "job_event_handled",
    "job_events_unclaimed",
    "job_get",
    "jobs_by_id",
    "jobs_by_status",
    "jobs_finished_recently",
    "jobs_version",
    "live_feed_end",
    "live_feed_read",
    "normalize_name",
    "normalized",
    "retention_last_run",
    "shard_budget",
    "storage_used",
]
