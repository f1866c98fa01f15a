"""Search cursors: a short opaque key to a point in time kept server-side (Redis), bound to the user who opened it.

A point-in-time id names every shard it covers, so it grows with the number of daily indices (77 KB with 450
of them): a cursor carrying it would not fit in a link or a request line. The id stays in the cache under a
random key for as long as Elasticsearch keeps the point in time; the cursor holds only that key and the sort
values to continue after, so it is about a hundred characters whatever the number of indices.
"""

import base64
import binascii
import secrets
from dataclasses import dataclass

import orjson
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from rest_framework import status

from config.cache import CACHE_UNAVAILABLE
from config.errors import ApplicationError, ServiceUnavailable

EXPIRED = "cursor: this result set has expired; start the search again"


@dataclass(frozen=True)
class Cursor:
    key: str
    after: list


def cursor_encode(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"key": cursor.key, "after": cursor.after})).decode()


def cursor_decode(text: str) -> Cursor:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(text.encode()))
        return Cursor(key=str(data["key"]), after=list(data["after"]))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ApplicationError("cursor: not a cursor this API gave out") from None


def cache_key(key: str) -> str:
    return f"search-pit:{key}"


def pit_key_new() -> str:
    """A fresh key for a point in time: 128 random bits, so one cannot be guessed."""
    return secrets.token_urlsafe(16)


def pit_remember(*, key: str, pit_id: str, user: AbstractBaseUser, seconds: int) -> None:
    """Keep (or refresh) the point in time under its key for as long as Elasticsearch keeps it."""
    try:
        cache.set(cache_key(key), {"pit": pit_id, "owner": str(user.pk)}, seconds)
    except CACHE_UNAVAILABLE as error:
        raise _paging_unavailable() from error


def pit_recall(*, key: str, user: AbstractBaseUser) -> str:
    """The point-in-time id behind a key; another user's key is refused exactly like an expired one."""
    try:
        stored = cache.get(cache_key(key))
    except CACHE_UNAVAILABLE as error:
        raise _paging_unavailable() from error
    if not stored or stored.get("owner") != str(user.pk):
        raise ApplicationError(EXPIRED, status.HTTP_410_GONE)
    return stored["pit"]


def _paging_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Search paging is unavailable: the cache (Redis) that keeps result sets does not answer; try again shortly"
    )
