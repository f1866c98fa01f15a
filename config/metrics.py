"""The Prometheus endpoint (/metrics): staff or a scrape token, this process's metrics and the platform's figures.

Two kinds of figures, chosen for hosts that share nothing but the network:
- Request and database metrics (django-prometheus) are observed in the web process that serves them. gunicorn runs
  several worker processes per host, so the launchers set PROMETHEUS_MULTIPROC_DIR for the web processes (cleaned at
  each start) and a scrape sums every process of that host.
- The pipeline's figures (lines indexed per log type, job durations, queue depth, ingest, deliveries) come from
  where the workers already record them, read at scrape time by the collectors named in METRICS_COLLECTORS: any
  web host reports the same totals whichever hosts the workers run on. Latencies measured in the workers (the
  Elasticsearch bulk requests) go to a SharedHistogram: its buckets are counters in Redis.
"""

import logging
import os
import secrets
from collections.abc import Iterable, Iterator

import redis
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from config.errors import ApplicationError
from config.redis import get_redis

logger = logging.getLogger(__name__)

# Seconds: from one small bulk request to a slow one on a busy cluster.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SharedHistogram:
    """A histogram every process on every host adds to: cumulative bucket counters in one Redis hash.

    Observing never fails the work it measures: a Redis error loses that one observation.
    """

    def __init__(self, name: str, documentation: str, buckets: Iterable[float] = LATENCY_BUCKETS):
        self.name = name
        self.documentation = documentation
        self.bounds = [*(str(bound) for bound in sorted(buckets)), "+Inf"]
        self.limits = [*sorted(buckets), float("inf")]
        self.key = f"metrics:histogram:{name}"

    def observe(self, seconds: float) -> None:
        try:
            with get_redis().pipeline(transaction=False) as pipe:
                for bound, limit in zip(self.bounds, self.limits, strict=True):
                    if seconds <= limit:
                        pipe.hincrby(self.key, bound, 1)
                pipe.hincrbyfloat(self.key, "sum", seconds)
                pipe.execute()
        except redis.RedisError as error:
            logger.warning("metric %s not recorded: %s", self.name, error)

    def collect(self) -> Iterator[Metric]:
        stored = {key.decode(): value for key, value in get_redis().hgetall(self.key).items()}
        buckets = [(bound, int(stored.get(bound, 0))) for bound in self.bounds]
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], buckets, sum_value=float(stored.get("sum", 0)))
        yield family


def histogram_buckets(seconds: Iterable[float]) -> tuple[list[tuple[str, int]], float]:
    """Cumulative (bound, count) buckets and the sum of stored durations, for a histogram built at scrape time."""
    values = list(seconds)
    buckets = [(str(limit), sum(1 for value in values if value <= limit)) for limit in LATENCY_BUCKETS]
    return [*buckets, ("+Inf", len(values))], sum(values)


class _Scrape:
    """What one scrape reports: this host's process metrics, then each platform collector's figures.

    A collector whose store is down is left out and reported as logs_metrics_source_up 0: the rest still answers.
    """

    def __init__(self, process_metrics, collectors: list) -> None:
        self.process_metrics = process_metrics
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        yield from self.process_metrics.collect()
        up = GaugeMetricFamily(
            "logs_metrics_source_up", "1 if the figures of this source could be read", labels=["source"]
        )
        for path in self.collectors:
            try:
                families = list(import_string(path)().collect())
            except (ApplicationError, redis.RedisError, DatabaseError) as error:
                logger.warning("metrics of %s not read: %s", path, error)
                up.add_metric([path], 0)
                continue
            up.add_metric([path], 1)
            yield from families
        yield up


def _process_metrics():
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def metrics_text() -> bytes:
    return generate_latest(_Scrape(_process_metrics(), settings.METRICS_COLLECTORS))


def _allowed(request: HttpRequest) -> bool | None:
    """True for staff or the scrape token; False for a signed-in user who is not staff; None for nobody."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    token = settings.METRICS_TOKEN
    if token and scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode()):
        return True
    if request.user.is_authenticated:
        return request.user.is_staff
    return None


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    allowed = _allowed(request)
    if allowed is None:
        response = JsonResponse({"success": False, "error": "Sign in as staff or send the scrape token"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not allowed:
        return JsonResponse({"success": False, "error": "Only staff may read the metrics"}, status=403)
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
