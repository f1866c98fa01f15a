"""The events' data version and the jobs' version: tokens that change whenever indexed events (or job records)
change, so readers may cache until then.

A job that ends (completed or failed: a failed job may have indexed part of its rows), a re-index that moved
set-aside rows into the events and a deleted upload change it. It lives in the shared cache (Redis); a random
token rather than a counter, so a cache that lost the key can never hand an old number back to a reader.
"""

import logging
import uuid

from django.core.cache import cache

from config.cache import CACHE_UNAVAILABLE

logger = logging.getLogger(__name__)
KEY = "events:data-version"
# Changed by every write of a job record (created, moved to another status, updated, deleted): the dashboard's job
# figures are kept until then, since counting them means reading every job (FerretDB scans the whole collection).
JOBS_KEY = "jobs:version"


def _bump(key: str) -> None:
    try:
        cache.set(key, uuid.uuid4().hex, timeout=None)
    except CACHE_UNAVAILABLE as error:
        # Readers cannot use the cache either while it is away; entries made before expire on their own.
        logger.warning("could not record a change in the cache (%s)", error)


def _current(key: str) -> str:
    """The current token; "unknown" before any change was recorded (or with the cache away)."""
    try:
        return cache.get(key) or "unknown"
    except CACHE_UNAVAILABLE:
        return "unavailable"


def data_version_bump() -> None:
    _bump(KEY)


def data_version() -> str:
    return _current(KEY)


def jobs_version_bump() -> None:
    _bump(JOBS_KEY)


def jobs_version() -> str:
    return _current(JOBS_KEY)
