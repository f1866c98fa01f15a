"""Template filters for job pages: sizes, status labels, timings and preview cells."""

import orjson
from django import template

from ingestion.enums import JobStatus

register = template.Library()


# The job's counts as the pages name them: "rejected" lines could not be read, "set aside" ones Elasticsearch refused.
COUNT_LABELS = {
    "total_lines": "total lines",
    "indexed": "indexed",
    "dead_lettered": "rejected",
    "fallback": "set aside",
    "skipped_blank": "skipped blank",
}


@register.filter
def count_label(name: str) -> str:
    return COUNT_LABELS.get(name, name)


@register.filter
def bytes(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} bytes" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


@register.filter
def status_label(status: str) -> str:
    return JobStatus(status).label if status in set(JobStatus) else str(status)


@register.filter
def milliseconds(value: int | None) -> str:
    if value is None:
        return "—"
    return f"{value:,} ms" if value < 10_000 else f"{value / 1000:,.1f} s"


@register.filter
def cell(value: object) -> str:
    """A preview cell: text as it is, other JSON values (objects, arrays, numbers) as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()
