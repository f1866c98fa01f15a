"""GET /api/health: up or down for anyone, from a result a few seconds old; each dependency's details for staff.

Elasticsearch's entry also carries its cluster's state (green, yellow, red) and node count.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
from django.conf import settings
from django.core.cache import cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import mongo
from config.cache import CACHE_UNAVAILABLE
from config.celery import app as celery_app
from config.errors import error_responses
from config.es import get_es

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 2.0
# Anyone may ask, so anyone's answer comes from one shared result: a flood of calls runs the checks once
# per this many seconds, not once per call.
PUBLIC_CACHE_KEY = "health:status"
PUBLIC_CACHE_SECONDS = 5


def _check_mongodb() -> dict:
    mongo.ping(TIMEOUT_SECONDS)
    return {"detail": "ok"}


def _check_redis() -> dict:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()
    return {"detail": "ok"}


def _check_elasticsearch() -> dict:
    # Yellow (a replica without a node, e.g. while one node of two restarts) still serves every read and write: up.
    health = get_es().options(request_timeout=TIMEOUT_SECONDS).cluster.health(filter_path="status,number_of_nodes")
    return {"detail": health["status"], "cluster_status": health["status"], "nodes": health["number_of_nodes"]}


def _check_celery() -> dict:
    # limit=1: one answering worker is enough, so a healthy answer does not wait out the timeout.
    replies = celery_app.control.ping(timeout=TIMEOUT_SECONDS, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return {"detail": f"{next(iter(replies[0]))} answered"}


# Each check returns its detail and any figures of its own; it raises when the dependency is down.
CHECKS: dict[str, Callable[[], dict]] = {
    "mongodb": _check_mongodb,
    "redis": _check_redis,
    "elasticsearch": _check_elasticsearch,
    "celery": _check_celery,
}


def _run(check: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    try:
        found = check()
        status = "up"
    except Exception as error:  # a health check reports every failure instead of raising
        found = {"detail": f"{type(error).__name__}: {error}"[:300]}
        status = "down"
    return {"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 1), **found}


class DependencySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["up", "down"])
    latency_ms = serializers.FloatField()
    detail = serializers.CharField()
    cluster_status = serializers.ChoiceField(
        choices=["green", "yellow", "red"], required=False, help_text="elasticsearch only, when it answers"
    )
    nodes = serializers.IntegerField(required=False, help_text="elasticsearch only: nodes in its cluster")


HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["up", "down"]),
        "dependencies": serializers.DictField(
            child=DependencySerializer(),
            required=False,
            help_text=f"staff only: {', '.join(CHECKS)}",
        ),
    },
)


class HealthApi(APIView):
    """The one endpoint open to anyone: load balancers and monitors call it. Staff sign in for the details."""

    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        summary="Health of the service",
        description='Anyone: `{"status": "up" | "down"}`, from a result at most '
        f"{PUBLIC_CACHE_SECONDS} s old. Staff (session or token): also each dependency's status, latency and "
        "detail, checked afresh; Elasticsearch's also its cluster's state and node count. 503 when a dependency "
        "is down.",
        responses={200: HealthSerializer, 503: HealthSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        body = check_all() if request.user.is_staff else {"status": public_status()}
        return Response(body, status=200 if body["status"] == "up" else 503)


def check_all() -> dict:
    """Every dependency's status; the checks run side by side so a dead server costs one timeout, not four."""
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        results = dict(zip(CHECKS, pool.map(_run, CHECKS.values()), strict=True))
    healthy = all(result["status"] == "up" for result in results.values())
    return {"status": "up" if healthy else "down", "dependencies": results}


def shared_health() -> dict:
    """Every dependency's status from the result shared for a few seconds; checked afresh (and shared) otherwise.

    Anonymous health calls and every dashboard refresh read this, so neither can make the checks run per request.
    """
    try:
        body = cache.get(PUBLIC_CACHE_KEY)
    except CACHE_UNAVAILABLE as error:
        # Redis is one of the dependencies: when it is away the answer is still given, from a fresh check.
        logger.warning("health cache unavailable (%s); checking afresh", error)
        return check_all()
    if body is None:
        body = check_all()
        try:
            cache.set(PUBLIC_CACHE_KEY, body, PUBLIC_CACHE_SECONDS)
        except CACHE_UNAVAILABLE as error:
            logger.warning("health cache unavailable (%s); the answer is not shared", error)
    return body


def public_status() -> str:
    """The overall status anyone may see."""
    return shared_health()["status"]


# Shown to anyone signed in: none of these names a host or an error.
PUBLIC_FIELDS = ("status", "cluster_status", "nodes")


def dependency_statuses() -> dict:
    """Up or down per dependency (and the cluster's state and node count), without latencies or details (which name
    hosts and errors): for non-staff pages."""
    body = shared_health()
    return {
        "status": body["status"],
        "dependencies": {
            name: {field: result[field] for field in PUBLIC_FIELDS if field in result}
            for name, result in body["dependencies"].items()
        },
    }
