"""The Elasticsearch client of a process, built from ELASTICSEARCH_URL."""

import os
from functools import cache

from django.conf import settings
from elasticsearch import ConnectionError, ConnectionTimeout, Elasticsearch

# The client's errors for "Elasticsearch is not answering now" (worth waiting for, not a bad request).
CLIENT_UNREACHABLE = (ConnectionError, ConnectionTimeout)


@cache
def _client(url: str, pid: int) -> Elasticsearch:
    # Keyed by pid like the MongoDB client: connection pools must not be shared across fork.
    return Elasticsearch(url, request_timeout=30)


def get_es() -> Elasticsearch:
    return _client(settings.ELASTICSEARCH_URL, os.getpid())
