"""The Elasticsearch client of a process, built from ELASTICSEARCH_URL."""

from functools import cache

from django.conf import settings
from elasticsearch import Elasticsearch


@cache
def _client(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=30)


def get_es() -> Elasticsearch:
    return _client(settings.ELASTICSEARCH_URL)
