"""The Elasticsearch document contract: index and alias names, the template and its mappings, canonical fields.

Every event of an upload is a document in `{prefix}-YYYY.MM.DD` (its own event day, UTC), searched through
the alias `{prefix}`; rows Elasticsearch rejects go to `{prefix}-fallback`. Readers (analytics) get the
names they rely on through `ingestion/contract.py`, never from how ingestion builds the documents.
"""

import logging
import re
from datetime import date
from functools import lru_cache

from django.conf import settings
from elasticsearch import BadRequestError, Elasticsearch

from ingestion.field_names import LINE_ITEM_FIELDS

logger = logging.getLogger(__name__)

# Fields every document may carry, whatever the file held; the file's own fields sit beside them.
CANONICAL_FIELDS = {
    "@timestamp": "date",
    "log_type": "keyword",
    "user_id": "keyword",
    "session_id": "keyword",
    "amount": "double",
    "currency": "keyword",
    # Rows sharing an order_id are the line items of one order; a cancellation is a returned or cancelled line.
    "order_id": "keyword",
    "cancellation": "boolean",
    "ip": "ip",
    "geo.country_iso_code": "keyword",
    "geo.country_name": "keyword",
    "geo.city_name": "keyword",
    "geo.location": "geo_point",
    "geo_status": "keyword",
    "http_status": "integer",
    "job_id": "keyword",
    "file_id": "keyword",
    "owner": "keyword",
    "line": "long",
    # Streamed events (POST /api/ingest, the Elasticsearch-compatible _bulk): the stream's name and id.
    "stream": "keyword",
    "stream_id": "keyword",
    # When the document was built for indexing (UTC), for files and streams alike: what a live tail follows.
    "ingested_at": "date",
}
# Arrays of line items (an order's products) are nested documents, so each item's own category and
# price aggregate together (a flat array would mix the categories and prices of different items).
NESTED_FIELDS = LINE_ITEM_FIELDS
# A string field `name` is a keyword; its full-text twin is `name.text`.
TEXT_SUBFIELD = "text"

# Above the priority (100) of the built-in "logs-*-*" data-stream template of a full Elasticsearch,
# which would otherwise claim `logs-ecom-YYYY.MM.DD`.
TEMPLATE_PRIORITY = 200


def index_settings() -> dict:
    """One shard per index, with the configured replicas; daily indices also refresh every second."""
    return {"number_of_shards": 1, "number_of_replicas": settings.LOGS_INDEX_REPLICAS}


DAILY_MAPPINGS = {
    "date_detection": False,
    "numeric_detection": False,
    "dynamic_templates": [
        {
            "line_items_nested": {
                "match_mapping_type": "object",
                "match_pattern": "regex",
                "match": "^(" + "|".join(NESTED_FIELDS) + ")$",
                "mapping": {"type": "nested"},
            }
        },
        {
            "strings_as_keyword": {
                "match_mapping_type": "string",
                "mapping": {"type": "keyword", "ignore_above": 1024, "fields": {"text": {"type": "text"}}},
            }
        },
        # One numeric type for every dynamic number: a field seen first as 3 and later as 2.5 must not conflict.
        {"longs_as_double": {"match_mapping_type": "long", "mapping": {"type": "double"}}},
        {"doubles_as_double": {"match_mapping_type": "double", "mapping": {"type": "double"}}},
    ],
    "properties": {
        "@timestamp": {"type": "date"},
        "log_type": {"type": "keyword"},
        "user_id": {"type": "keyword"},
        "session_id": {"type": "keyword"},
        "currency": {"type": "keyword"},
        "order_id": {"type": "keyword"},
        "cancellation": {"type": "boolean"},
        "job_id": {"type": "keyword"},
        "file_id": {"type": "keyword"},
        "owner": {"type": "keyword"},
        "geo_status": {"type": "keyword"},
        "http_status": {"type": "integer"},
        "amount": {"type": "double"},
        "ip": {"type": "ip"},
        "geo": {
            "properties": {
                "country_iso_code": {"type": "keyword"},
                "country_name": {"type": "keyword"},
                "city_name": {"type": "keyword"},
                "location": {"type": "geo_point"},
            }
        },
        "line": {"type": "long"},
        "message": {"type": "text"},
        "stream": {"type": "keyword"},
        "stream_id": {"type": "keyword"},
        "ingested_at": {"type": "date"},
    },
}
# Fields added after the first daily indices were made: ensure_index_templates maps them on existing indices too,
# so a range over `ingested_at` never meets a day where it was mapped as a keyword by dynamic mapping.
ADDED_FIELDS = ("stream", "stream_id", "ingested_at")

FALLBACK_MAPPINGS = {
    "dynamic": False,
    "properties": {
        "job_id": {"type": "keyword"},
        "file_id": {"type": "keyword"},
        "stream_id": {"type": "keyword"},
        "stream": {"type": "keyword"},
        "line": {"type": "long"},
        "raw": {"type": "text", "index": False},
        "reason": {"type": "text"},
        "@timestamp": {"type": "date"},
    },
}

_ensured: set[str] = set()


def events_alias() -> str:
    """The configured prefix, which is also the alias every daily index joins: what readers search."""
    return settings.LOGS_INDEX_PREFIX


def fallback_index(prefix: str) -> str:
    return f"{prefix}-fallback"


def ensure_index_templates(es: Elasticsearch, prefix: str) -> None:
    """Put the daily-index template and create the fallback index; done once per process and prefix."""
    if prefix in _ensured:
        return
    es.indices.put_index_template(
        name=prefix,
        index_patterns=daily_index_patterns(prefix),
        priority=TEMPLATE_PRIORITY,
        template={
            "settings": {**index_settings(), "refresh_interval": "1s"},
            "mappings": DAILY_MAPPINGS,
            "aliases": {prefix: {}},
        },
    )
    try:
        es.indices.create(
            index=fallback_index(prefix),
            settings=index_settings(),
            mappings=FALLBACK_MAPPINGS,
        )
    except BadRequestError as error:
        if error.error != "resource_already_exists_exception":
            raise
    _map_added_fields(es, prefix)
    _ensured.add(prefix)


def _map_added_fields(es: Elasticsearch, prefix: str) -> None:
    """Map the fields added since the first daily indices on the indices that exist already (and the fallback's)."""
    daily = {name: DAILY_MAPPINGS["properties"][name] for name in ADDED_FIELDS}
    fallback = {name: FALLBACK_MAPPINGS["properties"][name] for name in ("stream_id", "stream")}
    for indices, properties in ((",".join(daily_index_patterns(prefix)), daily), (fallback_index(prefix), fallback)):
        try:
            es.indices.put_mapping(index=indices, properties=properties, allow_no_indices=True, ignore_unavailable=True)
        except BadRequestError as error:
            # A day indexed by an older version that mapped one of them otherwise keeps its mapping; say so once.
            logger.warning("could not map %s on existing indices of %s: %s", ", ".join(properties), prefix, error)


def daily_index_patterns(prefix: str) -> list[str]:
    # Daily indices start with the year; the patterns must not match `{prefix}-fallback`.
    return [f"{prefix}-1*", f"{prefix}-2*"]


def day_of_daily_index(prefix: str, index: str) -> str | None:
    """'2016-12-01' for `{prefix}-2016.12.01`; None for any other name (the fallback, a longer prefix's index)."""
    match = re.fullmatch(re.escape(prefix) + r"-(\d{4})\.(\d{2})\.(\d{2})", index)
    return "-".join(match.groups()) if match else None


def daily_index(prefix: str, timestamp_iso: str) -> str:
    """`{prefix}-YYYY.MM.DD` for an ISO-8601 UTC timestamp such as '2016-12-01T00:04:19.000Z'."""
    return _daily_index(prefix, timestamp_iso[:10])


@lru_cache(maxsize=4096)
def _daily_index(prefix: str, day: str) -> str:
    # A malformed day would create an index outside the template and the alias: fail loudly instead.
    parsed = date.fromisoformat(day)
    return f"{prefix}-{parsed.year:04d}.{parsed.month:02d}.{parsed.day:02d}"
