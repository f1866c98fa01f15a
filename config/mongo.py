"""The one MongoDB connection of a process; repositories take their collections from here."""

import os
from functools import cache

import pymongo
from django.conf import settings
from pymongo import MongoClient
from pymongo.database import Database


@cache
def _client(uri: str, pid: int) -> MongoClient:
    # Keyed by pid: a MongoClient must not be shared across fork (gunicorn, Celery prefork).
    return MongoClient(uri, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, tz_aware=True)


def get_database() -> Database:
    return _client(settings.MONGODB_URI, os.getpid()).get_default_database()


def ping(timeout_seconds: float) -> None:
    with pymongo.timeout(timeout_seconds):
        get_database().command("ping")


# Errors worth retrying: the server is unreachable or the connection dropped.
TRANSIENT_ERRORS = (pymongo.errors.ConnectionFailure,)
