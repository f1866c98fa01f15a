"""The events' data version: a token that changes whenever indexed events change, so readers may cache until then.

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


def data_version_bump() -> None:
    try:
        cache.set(KEY, uuid.uuid4().hex, timeout=None)
    except CACHE_UNAVAILABLE as error:
        # Readers cannot use the cache either while it is away; entries made before expire on their own.
        logger.warning("could not record new events in the cache (%s)", error)


def data_version() -> str:
    """The current token; "unknown" before any change was recorded (or with the cache away)."""
    try:
        return cache.get(KEY) or "unknown"
    except CACHE_UNAVAILABLE:
        return "unavailable"
