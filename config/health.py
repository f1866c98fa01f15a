"""GET /api/health: is each dependency up, and how fast does it answer? No authentication."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import mongo
from config.celery import app as celery_app
from config.es import get_es

TIMEOUT_SECONDS = 2.0


def _check_mongodb() -> str:
    mongo.ping(TIMEOUT_SECONDS)
    return "ok"


def _check_redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _check_elasticsearch() -> str:
    return get_es().options(request_timeout=TIMEOUT_SECONDS).cluster.health()["status"]


def _check_celery() -> str:
    # limit=1: one answering worker is enough, so a healthy answer does not wait out the timeout.
    replies = celery_app.control.ping(timeout=TIMEOUT_SECONDS, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return f"{next(iter(replies[0]))} answered"


CHECKS: dict[str, Callable[[], str]] = {
    "mongodb": _check_mongodb,
    "redis": _check_redis,
    "elasticsearch": _check_elasticsearch,
    "celery": _check_celery,
}


def _run(check: Callable[[], str]) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        status = "up"
    except Exception as error:  # a health check reports every failure instead of raising
        detail = f"{type(error).__name__}: {error}"[:300]
        status = "down"
    return {"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 1), "detail": detail}


class DependencySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["up", "down"])
    latency_ms = serializers.FloatField()
    detail = serializers.CharField()


HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["up", "down"]),
        "dependencies": serializers.DictField(child=DependencySerializer(), help_text=", ".join(CHECKS)),
    },
)


class HealthApi(APIView):
    """The one endpoint without authentication: load balancers and monitors call it."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        summary="Health of every dependency", auth=[], responses={200: HealthSerializer, 503: HealthSerializer}
    )
    def get(self, request: Request) -> Response:
        body = check_all()
        return Response(body, status=200 if body["status"] == "up" else 503)


def check_all() -> dict:
    """Every dependency's status; the checks run side by side so a dead server costs one timeout, not four."""
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        results = dict(zip(CHECKS, pool.map(_run, CHECKS.values()), strict=True))
    healthy = all(result["status"] == "up" for result in results.values())
    return {"status": "up" if healthy else "down", "dependencies": results}
