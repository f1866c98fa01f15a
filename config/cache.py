"""The errors that mean the shared cache (Redis) is away: callers fail open on them instead of answering 500."""

from redis.exceptions import RedisError

CACHE_UNAVAILABLE = (RedisError, ConnectionError, OSError)
