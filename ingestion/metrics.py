"""The pipeline's metrics, read at scrape time from what the workers record (jobs, stream batches, the queue)."""

from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from config.metrics import SharedHistogram, histogram_buckets
from config.redis import get_broker_redis
from ingestion import repository as repo
from ingestion import stream_repository as streams_repo
from ingestion.enums import FINISHED, JobStatus

# Observed in the workers around each `_bulk` request (ingestion/bulk.py), added up in Redis across hosts.
ES_BULK_SECONDS = SharedHistogram("logs_es_bulk_duration_seconds", "Time of one Elasticsearch _bulk request")

LINE_COUNTS = {
    "indexed": "Lines indexed into Elasticsearch",
    "dead_lettered": "Lines rejected (unparseable or refused) and kept as dead letters",
    "fallback": "Lines Elasticsearch refused (mapping conflicts), set aside in the fallback index",
}
# The stages a job records a time for (parse, enrich and index are summed over its chunks).
STAGES = ("validate", "preview", "parse", "enrich", "index")
# An upload recorded before its log type was guessed, or a stream named without one.
NO_LOG_TYPE = "unspecified"


class PipelineCollector:
    """Lines per log type (uploads and streams), jobs by status, job and stage durations, queue depth, ingest."""

    def collect(self) -> Iterator[Metric]:
        jobs = list(repo.jobs_figures())
        streams = streams_repo.totals_by_log_type(["received", *LINE_COUNTS])
        yield from _line_counters(jobs, streams)
        yield from _job_figures(jobs)
        yield _ingest_counter(streams["received"])
        yield _queue_depth()
        yield from ES_BULK_SECONDS.collect()


def _line_counters(jobs: list[dict], streams: dict[str, dict[str, int]]) -> Iterator[Metric]:
    for name, documentation in LINE_COUNTS.items():
        family = CounterMetricFamily(f"logs_lines_{name}", documentation, labels=["log_type", "source"])
        from_uploads: dict[str, int] = defaultdict(int)
        for job in jobs:
            from_uploads[job.get("log_type") or NO_LOG_TYPE] += (job.get("counts") or {}).get(name, 0)
        for log_type, value in sorted(from_uploads.items()):
            family.add_metric([log_type, "upload"], value)
        for log_type, value in sorted(streams[name].items()):
            family.add_metric([log_type or NO_LOG_TYPE, "stream"], value)
        yield family


def _job_figures(jobs: list[dict]) -> Iterator[Metric]:
    by_status = GaugeMetricFamily("logs_jobs", "Upload jobs by status", labels=["status"])
    for status in JobStatus:
        by_status.add_metric([status.value], sum(1 for job in jobs if job.get("status") == status.value))
    yield by_status
    finished = [job.get("stages") or {} for job in jobs if job.get("status") in FINISHED]
    elapsed = HistogramMetricFamily("logs_job_duration_seconds", "Time from a job's start to its end (finished jobs)")
    elapsed.add_metric([], *_buckets(stages.get("elapsed_ms") for stages in finished))
    yield elapsed
    per_stage = HistogramMetricFamily(
        "logs_job_stage_duration_seconds",
        "Time of each stage of a finished job (summed over its chunks)",
        labels=["stage"],
    )
    for stage in STAGES:
        per_stage.add_metric([stage], *_buckets(stages.get(f"{stage}_ms") for stages in finished))
    yield per_stage


def _buckets(milliseconds) -> tuple[list[tuple[str, int]], float]:
    return histogram_buckets(ms / 1000 for ms in milliseconds if ms is not None)


def _ingest_counter(received: dict[str, int]) -> Metric:
    family = CounterMetricFamily(
        "logs_ingest_events_received",
        "Events received by the ingest endpoints (/api/ingest, _bulk)",
        labels=["log_type"],
    )
    for log_type, value in sorted(received.items()):
        family.add_metric([log_type or NO_LOG_TYPE], value)
    return family


def _queue_depth() -> Metric:
    family = GaugeMetricFamily(
        "logs_celery_queue_length", "Tasks waiting in the Celery queue (Redis)", labels=["queue"]
    )
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    family.add_metric([queue], get_broker_redis().llen(queue))
    return family
