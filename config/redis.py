"""The Redis client of a process for what Django's cache API cannot do (an append-only feed), built from REDIS_URL."""

import os
from functools import cache

import redis
from django.conf import settings

TIMEOUT_SECONDS = 2.0


@cache
def _client(url: str, pid: int) -> redis.Redis:
    # Keyed by pid like the other clients: a connection pool must not be shared across fork.
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)


def get_redis() -> redis.Redis:
    return _client(settings.REDIS_URL, os.getpid())


def get_broker_redis() -> redis.Redis:
    """The Celery broker's Redis (its queues are lists there), which may be another database than REDIS_URL's."""
    return _client(settings.CELERY_BROKER_URL, os.getpid())
