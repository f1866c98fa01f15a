"""Query builders for alert rules: matching events over a span of event time cut into windows that end where it ends.

One aggregation query answers every window of a span (a date_histogram whose fixed interval is the window), so a
rule's evaluation, its catch-up after an outage and a 7-day preview each cost one query, not one per window.
Each builder takes a search already scoped to the owner and the rule's saved query (`filters.scoped_search`), so
a rule sees exactly what /api/search shows its owner.
"""

import datetime as dt
from dataclasses import dataclass, field

from elasticsearch import ApiError
from elasticsearch_dsl import A, Q, Search

from analytics.mapping import field_map
from analytics.orders import PERCENTILE_COMPRESSION
from config.errors import ApplicationError

METRICS = ("sum", "avg", "max", "p95")
NUMBER_TYPES = frozenset(
    {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
)
# Values per window a per-value count reports, the busiest first.
MAX_VALUES = 50
# Terms per request of an exact walk over every value (composite pages) and per `terms` filter.
PAGE = 5000


@dataclass(frozen=True)
class WindowFigures:
    """One window [start, end): its matching events, the values of a field at least a floor of them hold, a metric."""

    start: dt.datetime
    end: dt.datetime
    count: int = 0
    values: dict[str, int] = field(default_factory=dict)
    metric: float | None = None


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _moment(epoch_ms: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC)


def _in_span(search: Search, start: dt.datetime, end: dt.datetime) -> Search:
    span = {"gte": _ms(start), "lt": _ms(end), "format": "epoch_millis"}
    return search.filter(Q("range", **{"@timestamp": span}))


def _execute(search: Search) -> dict:
    """The raw answer; no index yet (a new install) is no match, and a search Elasticsearch refuses a sentence."""
    try:
        return search.params(ignore_unavailable=True, allow_no_indices=True).execute().to_dict()
    except ApiError as error:
        if error.status_code != 400:
            raise
        info = error.info if isinstance(error.info, dict) else {}
        causes = info.get("error", {}).get("root_cause") or [info.get("error", {})]
        reason = str((causes[0] or {}).get("reason") or error.message)[:300]
        raise ApplicationError(f"Elasticsearch could not run this rule's search: {reason}") from error


def value_field(name: str) -> str:
    """The field to count values of for `name` (its keyword twin for a text field); a sentence when it cannot be."""
    fields = field_map(name)
    if fields.nested_path(name):
        raise ApplicationError(f"field: {name} is inside an order's line items; a rule counts whole events")
    if name not in fields.types:
        return name  # no event has it yet: nothing matches until one does
    target = fields.aggregatable(name)
    if target is None:
        raise ApplicationError(f"field: {name} is a {fields.types[name]} field, whose values cannot be counted")
    return target


def number_field(name: str) -> str:
    """`name` when it holds numbers (or no event has it yet); a sentence otherwise."""
    fields = field_map(name)
    if fields.nested_path(name):
        raise ApplicationError(f"field: {name} is inside an order's line items; a rule measures whole events")
    kind = fields.types.get(name)
    if kind is not None and kind not in NUMBER_TYPES:
        raise ApplicationError(f"field: {name} holds {kind} values; a metric needs a number field such as amount")
    return name


def windows_between(
    start: dt.datetime, end: dt.datetime, window: dt.timedelta
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The back-to-back windows of [start, end), the last ending at `end` (the span is a whole number of windows)."""
    count = round((end - start) / window)
    return [(end - (count - number) * window, end - (count - number - 1) * window) for number in range(count)]


def _metric_aggregation(metric: str, name: str) -> A:
    if metric == "p95":
        return A("percentiles", field=name, percents=[95], tdigest={"compression": PERCENTILE_COMPRESSION})
    return A(metric, field=name)


def _metric_value(metric: str, figures: dict | None) -> float | None:
    if figures is None:
        return None
    if metric == "p95":
        return (figures.get("values") or {}).get("95.0")
    return figures.get("value")


def window_histogram(
    search: Search,
    *,
    start: dt.datetime,
    end: dt.datetime,
    window: dt.timedelta,
    per_value: str | None = None,
    floor: int = 1,
    metric: tuple[str, str] | None = None,
) -> list[WindowFigures]:
    """Every window of [start, end), oldest first, from one query: its count, and as asked the values of `per_value`
    held by at least `floor` events (the busiest MAX_VALUES) and a metric ("sum"|"avg"|"max"|"p95", field)."""
    seconds = int(window.total_seconds())
    # Buckets start at multiples of the interval plus this offset: the last one ends exactly at `end`.
    offset = int(end.timestamp()) % seconds
    query = _in_span(search, start, end).extra(size=0, track_total_hits=False)
    histogram = query.aggs.bucket(
        "windows",
        A("date_histogram", field="@timestamp", fixed_interval=f"{seconds}s", offset=f"+{offset}s", min_doc_count=1),
    )
    if per_value:
        histogram.bucket("values", A("terms", field=per_value, size=MAX_VALUES, min_doc_count=max(1, floor)))
    if metric:
        histogram.metric("metric", _metric_aggregation(*metric))
    buckets = {
        int(bucket["key"]): bucket
        for bucket in _execute(query).get("aggregations", {}).get("windows", {}).get("buckets", [])
    }
    figures = []
    for window_start, window_end in windows_between(start, end, window):
        bucket = buckets.get(_ms(window_start), {})
        empty_metric = 0.0 if metric and metric[0] == "sum" else None  # no order in a window is no revenue
        figures.append(
            WindowFigures(
                start=window_start,
                end=window_end,
                count=bucket.get("doc_count", 0),
                values={str(item["key"]): item["doc_count"] for item in bucket.get("values", {}).get("buckets", [])},
                metric=_metric_value(metric[0], bucket.get("metric")) if metric and bucket else empty_metric,
            )
        )
    return figures


def first_seen(
    search: Search, *, name: str, start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[dt.datetime, int]]:
    """Every value of a field in [start, end): when it first appears there and how many events hold it.

    Exact (composite pages visit every value): a `terms` aggregation ordered by first time could miss, on one
    daily index, that a value also appears on an older one.
    """
    seen: dict[str, tuple[dt.datetime, int]] = {}
    after = None
    while True:
        query = _in_span(search, start, end).extra(size=0, track_total_hits=False)
        composite = {"sources": [{"value": {"terms": {"field": name}}}], "size": PAGE}
        if after:
            composite["after"] = after
        query.aggs.bucket("values", "composite", **composite).metric("first", A("min", field="@timestamp"))
        values = _execute(query).get("aggregations", {}).get("values", {})
        buckets = values.get("buckets", [])
        for bucket in buckets:
            seen[str(bucket["key"]["value"])] = (_moment(bucket["first"]["value"]), bucket["doc_count"])
        after = values.get("after_key")
        if len(buckets) < PAGE or not after:
            return seen


def values_seen(search: Search, *, name: str, values: list[str], start: dt.datetime, end: dt.datetime) -> set[str]:
    """Those of `values` that some event of [start, end) holds."""
    seen: set[str] = set()
    for first in range(0, len(values), PAGE):
        chunk = values[first : first + PAGE]
        query = _in_span(search, start, end).filter(Q("terms", **{name: chunk})).extra(size=0, track_total_hits=False)
        query.aggs.bucket("seen", A("terms", field=name, size=len(chunk)))
        buckets = _execute(query).get("aggregations", {}).get("seen", {}).get("buckets", [])
        seen.update(str(bucket["key"]) for bucket in buckets)
    return seen


def window_documents(
    search: Search, *, start: dt.datetime, end: dt.datetime, size: int, match: tuple[str, str] | None = None
) -> list[str]:
    """The ids (`file_id:line`) of the first `size` matching events of [start, end), in time order; with `match`
    (field, value), only those holding that value."""
    query = _in_span(search, start, end)
    if match:
        query = query.filter(Q("term", **{match[0]: match[1]}))
    query = query.sort({"@timestamp": {"order": "asc"}}, "_doc").source(False).extra(size=size, track_total_hits=False)
    return [hit["_id"] for hit in _execute(query)["hits"]["hits"]]
