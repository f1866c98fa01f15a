"""Anomalies in a series of the events (count, error rate, a field's sum, average, maximum or distinct values).

One date_histogram (fixed interval) with the series' metric under it, scored by the robust seasonal model of
`analytics.anomaly_model`; each anomaly is explained in the shop's terms (the series' name and unit, the
expected band for that time) and, where it can be, by the values that drove it: one extra aggregation compares
the anomalous window with the same window on earlier days (the baseline). `series_anomalies` is the service the
API, the page and alert rules call.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from elasticsearch_dsl import A, Q, Search

from analytics import panels
from analytics.anomaly_model import (
    SEASON_DAILY,
    SEASON_NONE,
    SEASON_WEEKLY,
    SENSITIVITY_SCORES,
    Fit,
    Point,
    anomaly_runs,
    detect,
)
from analytics.filters import EventFilters, check_field_name, scoped_search
from analytics.mapping import field_map
from config.errors import ApplicationError
from ingestion.contract import CATEGORY_FIELDS

SERIES_KINDS = ("count", "error_rate", "sum", "avg", "max", "cardinality")
FIELD_KINDS = ("sum", "avg", "max", "cardinality")
NUMERIC_TYPES = frozenset(
    {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
)
# Fixed intervals from fine to coarse (Elasticsearch's fixed_interval units).
INTERVALS = (
    ("1m", dt.timedelta(minutes=1)),
    ("5m", dt.timedelta(minutes=5)),
    ("10m", dt.timedelta(minutes=10)),
    ("15m", dt.timedelta(minutes=15)),
    ("30m", dt.timedelta(minutes=30)),
    ("1h", dt.timedelta(hours=1)),
    ("2h", dt.timedelta(hours=2)),
    ("3h", dt.timedelta(hours=3)),
    ("6h", dt.timedelta(hours=6)),
    ("12h", dt.timedelta(hours=12)),
    ("1d", dt.timedelta(days=1)),
)
# The model is pure Python: a few thousand buckets take well under a second.
MAX_BUCKETS = 3000
# Auto interval: the finest spacing with about this many events per bucket (fewer is mostly counting noise).
MIN_EVENTS_PER_BUCKET = 20
# Past three days the daily pattern can be learned, which needs buckets of at most an hour.
SEASONAL_SPAN = dt.timedelta(days=3)
SEASONAL_STEP = dt.timedelta(hours=1)
BY_ENTITIES = 5
# Explaining an anomaly costs one aggregation: the highest-scored ones get it.
MAX_EXPLAINED = 10
BASELINE_WINDOWS = 7
# A driver is named when one value carries at least this share of the change, and at least DRIVER_EXCESS more
# than its usual share: when everything drops alike (a silent hour), the biggest value is no explanation.
DRIVER_SHARE = 0.4
DRIVER_EXCESS = 0.2
DRIVER_DIMENSIONS = ("geo.country_iso_code", "log_type", "http_status")
PAYMENT_FIELDS = ("payment_method", "payment_type", "payment")
DIMENSION_NAMES = {"geo.country_iso_code": "country", "log_type": "log type", "http_status": "HTTP status"}
# Errors are server errors (5xx), as on the analytics status panel: 4xx are mostly clients' own mistakes
# (a bot's 404, a wrong password) and move with traffic rather than with an outage.
SERVER_ERROR = Q("range", http_status={"gte": 500})
REVENUE_FIELD = "amount"


@dataclass(frozen=True)
class Series:
    kind: str
    field: str | None = None

    @property
    def name(self) -> str:
        if self.kind == "count":
            return "events"
        if self.kind == "error_rate":
            return "error rate"
        if self.kind == "sum" and self.field == REVENUE_FIELD:
            return "revenue"
        return {"sum": "total", "avg": "average", "max": "maximum", "cardinality": "distinct"}[self.kind] + (
            f" {self.field}"
        )


def series_parse(text: str) -> Series:
    """`count`, `error_rate` or `<kind>:<field>` for sum, avg, max and cardinality."""
    kind, _, name = text.partition(":")
    if kind not in SERIES_KINDS or (kind in FIELD_KINDS) != bool(name):
        raise ApplicationError(
            "series: count, error_rate, or sum:<field>, avg:<field>, max:<field>, cardinality:<field> (e.g. sum:amount)"
        )
    return Series(kind, check_field_name(name) if name else None)


def series_check(text: str) -> str:
    """`text` when /api/anomalies could follow that series in these events; its sentence otherwise (alert rules)."""
    parsed = series_parse(text)
    if parsed.field:
        _plain_field(parsed.field, "series", parsed.kind != "cardinality")
    return text


def _plain_field(name: str, purpose: str, numeric: bool = False) -> str:
    """The field to aggregate for `name`, refused with a sentence when it cannot serve."""
    fields = field_map(name)
    if fields.nested_path(name):
        raise ApplicationError(f"{purpose}: '{name}' is inside a list of items; use a field of the event itself")
    target = fields.aggregatable(name)
    if target is None:
        raise ApplicationError(f"{purpose}: no field '{name}' in these events")
    if numeric and fields.types.get(target) not in NUMERIC_TYPES:
        raise ApplicationError(f"{purpose}: '{name}' is not a number")
    return target


def interval_for(span: dt.timedelta, events: int) -> tuple[str, dt.timedelta]:
    """The natural spacing: the finest interval with enough events per bucket and at most MAX_BUCKETS."""
    fitting = [item for item in INTERVALS if span / item[1] <= MAX_BUCKETS] or [INTERVALS[-1]]
    if span >= SEASONAL_SPAN:
        fitting = [item for item in fitting if item[1] <= SEASONAL_STEP] or fitting[:1]
    for name, step in fitting:
        if events * step / max(span, step) >= MIN_EVENTS_PER_BUCKET:
            return name, step
    return fitting[-1]


def _interval(name: str | None, span: dt.timedelta, events: int) -> tuple[str, dt.timedelta]:
    if name is None:
        return interval_for(span, events)
    steps = dict(INTERVALS)
    if name not in steps:
        raise ApplicationError(f"interval: one of {', '.join(steps)}")
    if span / steps[name] > MAX_BUCKETS:
        raise ApplicationError(
            f"interval: {name} would make more than {MAX_BUCKETS:,} buckets over this time range; "
            "choose a longer interval or a shorter range"
        )
    return name, steps[name]


def _histogram(series: Series, field: str | None, name: str, first: dt.datetime, last: dt.datetime) -> A:
    millis = [int(moment.timestamp() * 1000) for moment in (first, last)]
    histogram = A(
        "date_histogram",
        field="@timestamp",
        fixed_interval=name,
        min_doc_count=0,
        extended_bounds={"min": millis[0], "max": millis[1]},
    )
    if series.kind == "error_rate":
        histogram.bucket("errors", A("filter", SERVER_ERROR))
    elif series.kind in FIELD_KINDS:
        histogram.metric("metric", A(series.kind, field=field))
    return histogram


def _values(series: Series, buckets: Sequence) -> tuple[list[float | None], list[int]]:
    """Bucket values (None: nothing to measure) and the number of events behind each."""
    support = [bucket.doc_count for bucket in buckets]
    if series.kind == "count":
        return [float(count) for count in support], support
    if series.kind == "error_rate":
        rates = [
            bucket.errors.doc_count / count if count else None for bucket, count in zip(buckets, support, strict=True)
        ]
        return rates, support
    if series.kind in ("avg", "max"):
        return [bucket.metric.value if count else None for bucket, count in zip(buckets, support, strict=True)], support
    return [float(bucket.metric.value or 0) for bucket in buckets], support


def _fit(
    series: Series,
    values: list[float | None],
    support: list[int],
    start: dt.datetime,
    step: dt.timedelta,
    sensitivity: str,
) -> Fit:
    noise = {"count": "poisson", "error_rate": "binomial"}.get(series.kind, "spread")
    return detect(values, start=start, step=step, sensitivity=sensitivity, noise=noise, support=support)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _bucket_start(bucket: object) -> dt.datetime:
    return dt.datetime.fromtimestamp(bucket.key / 1000, dt.UTC)


# Wording


def _unit(series: Series, search: Search) -> str:
    """The unit after a value: the currency of a revenue when the events have one."""
    if series.kind != "sum" or series.field != REVENUE_FIELD:
        return ""
    probe = search.extra(size=0)
    probe.aggs.bucket("currencies", A("terms", field="currency", size=2))
    currencies = [bucket.key for bucket in probe.execute().aggregations.currencies.buckets]
    return f" {currencies[0]}" if len(currencies) == 1 else ""


def _number(series: Series, value: float, unit: str) -> str:
    if series.kind == "error_rate":
        return f"{value:.1%}"
    if series.kind in ("count", "cardinality"):
        return f"{value:,.0f}"
    return f"{value:,.2f}{unit}" if abs(value) < 100 else f"{value:,.0f}{unit}"


def _duration(step: dt.timedelta) -> str:
    minutes = int(step.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return "day" if minutes == 24 * 60 else f"{minutes // (24 * 60)} days"
    if minutes % 60 == 0:
        return "hour" if minutes == 60 else f"{minutes // 60} hours"
    return f"{minutes} minutes"


def _season_words(season: str, moment: dt.datetime) -> str:
    if season == SEASON_WEEKLY:
        return f" for a {moment:%A} at this hour"
    if season == SEASON_DAILY:
        return " for this hour of the day"
    return ""


def _explanation(
    series: Series, unit: str, fit: Fit, run: tuple[int, int, int], times: list[dt.datetime], step: dt.timedelta
) -> str:
    first, last, peak = run
    point = fit.points[peak]
    end = times[peak] + step
    text = (
        f"{series.name} {_number(series, point.value, unit)} in the {_duration(step)} to {end:%H:%M} on "
        f"{end:%a %d %b}, expected {_number(series, point.low, unit)}\N{EN DASH}{_number(series, point.high, unit)}"
        f"{_season_words(fit.season, times[peak])}"
    )
    if last > first:
        text += f" (one of {last - first + 1} unusual buckets from {times[first]:%H:%M} to {times[last] + step:%H:%M})"
    return text


# Drivers: which values of a few dimensions carry the change


def _dimensions(series: Series, by: str | None, filters: EventFilters) -> list[str]:
    fields = field_map(*DRIVER_DIMENSIONS)
    candidates = list(DRIVER_DIMENSIONS)
    candidates += [
        next((name for name in group if fields.aggregatable(name)), "") for group in (CATEGORY_FIELDS, PAYMENT_FIELDS)
    ]
    pinned = {
        "log_type": filters.log_types,
        "geo.country_iso_code": filters.countries,
        "http_status": filters.http_statuses,
    }
    chosen = []
    for name in candidates:
        target = fields.aggregatable(name) if name else None
        if target and target != by and not fields.nested_path(name) and len(pinned.get(name, ())) != 1:
            chosen.append(target)
    return chosen


def _baseline_ranges(fit: Fit, start: dt.datetime, end: dt.datetime, first_time: dt.datetime) -> list[Q]:
    """The same window on earlier days (weeks, for a weekly season; just before it without a season)."""
    period = {SEASON_WEEKLY: dt.timedelta(days=7), SEASON_DAILY: dt.timedelta(days=1)}.get(fit.season, end - start)
    ranges = []
    for shift in range(1, BASELINE_WINDOWS + 1):
        low, high = start - period * shift, end - period * shift
        if low >= first_time:
            ranges.append(Q("range", **{"@timestamp": {"gte": _iso(low), "lt": _iso(high)}}))
    return ranges


def _driver_values(series: Series, bucket: object) -> dict[str, float]:
    values = {}
    for item in bucket.buckets:
        if series.kind == "error_rate":
            values[str(item.key)] = float(item.errors.doc_count)
        elif series.kind == "sum":
            values[str(item.key)] = float(item.metric.value or 0)
        else:
            values[str(item.key)] = float(item.doc_count)
    return values


def _drivers(
    series: Series,
    field: str | None,
    base: Search,
    dimensions: list[str],
    window: tuple,
    baseline: list[Q],
    direction: int,
) -> str:
    """ "; 80% of the drop is country FR": the values carrying most of the change from the baseline."""
    if not dimensions or not baseline or series.kind not in ("count", "error_rate", "sum"):
        return ""
    search = base.extra(size=0)
    parts = search.aggs.bucket(
        "parts",
        A(
            "filters",
            filters={
                "window": Q("range", **{"@timestamp": {"gte": _iso(window[0]), "lt": _iso(window[1])}}),
                "baseline": Q("bool", should=baseline, minimum_should_match=1),
            },
        ),
    )
    for name in dimensions:
        terms = parts.bucket(name, A("terms", field=name, size=20))
        if series.kind == "error_rate":
            terms.bucket("errors", A("filter", SERVER_ERROR))
        elif series.kind == "sum":
            terms.metric("metric", A("sum", field=field))
    buckets = search.execute().aggregations.parts.buckets
    phrases = []
    for name in dimensions:
        now = _driver_values(series, buckets.window[name])
        before = _driver_values(series, buckets.baseline[name])
        if len(set(now) | set(before)) < 2:
            continue
        change = {key: now.get(key, 0.0) - before.get(key, 0.0) / len(baseline) for key in set(now) | set(before)}
        total = sum(change.values())
        if total * direction <= 0:
            continue
        key = max(change, key=lambda item: change[item] * direction)
        share = min(1.0, change[key] / total)
        usual = before.get(key, 0.0) / sum(before.values()) if sum(before.values()) else 0.0
        if share >= DRIVER_SHARE and share - usual >= DRIVER_EXCESS:
            phrases.append((share, f"{DIMENSION_NAMES.get(name, name)} {key}"))
    phrases.sort(reverse=True)
    word = "rise" if direction > 0 else "drop"
    return "".join(f"; {share:.0%} of the {word} is {what}" for share, what in phrases[:2])


# The answer


def _points(fit: Fit, times: list[dt.datetime]) -> list[dict]:
    return [
        {
            "t": _iso(moment),
            "value": _round(point.value),
            "expected": _round(point.expected),
            "low": _round(point.low),
            "high": _round(point.high),
            "score": point.score,
            "anomaly": point.anomaly,
        }
        for moment, point in zip(times, fit.points, strict=True)
    ]


def _anomaly(
    point: Point, times: list[dt.datetime], run: tuple[int, int, int], step: dt.timedelta, explanation: str
) -> dict:
    first, last, peak = run
    return {
        "from": _iso(times[first]),
        "to": _iso(times[last] + step),
        "peak": _iso(times[peak]),
        "value": _round(point.value),
        "expected": _round(point.expected),
        "score": point.score,
        "direction": "up" if point.value > point.expected else "down",
        "explanation": explanation,
    }


@dataclass(frozen=True)
class _Context:
    series: Series
    field: str | None
    unit: str
    step: dt.timedelta
    dimensions: list[str]


def _scored(context: _Context, base: Search, buckets: Sequence, sensitivity: str) -> dict:
    """Series and anomalies of one histogram (the whole scope, or one entity's)."""
    if not buckets:
        return {"series": [], "anomalies": [], "season": SEASON_NONE, "note": "no events in this range"}
    times = [_bucket_start(bucket) for bucket in buckets]
    values, support = _values(context.series, buckets)
    fit = _fit(context.series, values, support, times[0], context.step, sensitivity)
    runs = anomaly_runs(fit.points)
    explained = set(sorted(runs, key=lambda run: fit.points[run[2]].score, reverse=True)[:MAX_EXPLAINED])
    anomalies = []
    for run in runs:
        point = fit.points[run[2]]
        text = _explanation(context.series, context.unit, fit, run, times, context.step)
        if run in explained:
            window = (times[run[0]], times[run[1]] + context.step)
            baseline = _baseline_ranges(fit, *window, times[0])
            direction = 1 if point.value > point.expected else -1
            text += _drivers(context.series, context.field, base, context.dimensions, window, baseline, direction)
        anomalies.append(_anomaly(point, times, run, context.step, text))
    note = fit.note
    if note is None and context.series.kind == "error_rate" and not any(support):
        note = "no HTTP status in these events: there is no error rate to follow"
    return {"series": _points(fit, times), "anomalies": anomalies, "season": fit.season, "note": note}


def series_anomalies(
    *,
    user: AbstractBaseUser,
    filters: EventFilters,
    series: str = "count",
    interval: str | None = None,
    sensitivity: str = "medium",
    by: str | None = None,
    until: dt.datetime | None = None,
    explain: bool = True,
) -> dict:
    """The series over the user's events matching the filters, its expected band and its anomalies explained.

    With `by`, the same for each of the top BY_ENTITIES values of that field (by number of events). With
    `until` (an alert rule's "now"), the series runs to the last bucket complete by then, empty buckets included.
    Without `explain`, the explanations name no drivers (spares their aggregations, e.g. for a chart's band).
    """
    if sensitivity not in SENSITIVITY_SCORES:
        raise ApplicationError(f"sensitivity: one of {', '.join(SENSITIVITY_SCORES)}")
    parsed = series_parse(series)
    field = _plain_field(parsed.field, "series", parsed.kind != "cardinality") if parsed.field else None
    by_field = _plain_field(check_field_name(by), "by") if by else None
    base = scoped_search(user, filters)
    if parsed.kind == "error_rate":
        base = base.filter(Q("exists", field="http_status"))
    span = panels.time_span(base)
    events = base.count() if span else 0
    name, step = _interval(interval, span[1] - span[0] if span else dt.timedelta(0), events)
    if span and until is not None:
        # Buckets are aligned on the epoch; the one holding `until` is still filling up, so it is left out.
        complete = dt.datetime.fromtimestamp(until.timestamp() // step.total_seconds() * step.total_seconds(), dt.UTC)
        base = base.filter(Q("range", **{"@timestamp": {"lt": _iso(complete)}}))
        span = (span[0], complete - dt.timedelta(milliseconds=1)) if span[0] < complete else None
    answer: dict = {"interval": name, "series_name": parsed.name}
    if span is None:
        empty = {"series": [], "anomalies": [], "season": SEASON_NONE, "note": "no events in this range"}
        return {**answer, "by": by, "entities": []} if by else {**answer, **empty}
    context = _Context(
        parsed, field, _unit(parsed, base), step, _dimensions(parsed, by_field, filters) if explain else []
    )
    search = base.extra(size=0)
    histogram = _histogram(parsed, field, name, *span)
    if by_field is None:
        search.aggs.bucket("time", histogram)
        buckets = search.execute().aggregations.time.buckets
        return {**answer, **_scored(context, base, buckets, sensitivity)}
    search.aggs.bucket("entities", A("terms", field=by_field, size=BY_ENTITIES)).bucket("time", histogram)
    entities = []
    for entity in search.execute().aggregations.entities.buckets:
        scope = base.filter(Q("term", **{by_field: entity.key}))
        entities.append({"key": str(entity.key), **_scored(context, scope, entity.time.buckets, sensitivity)})
    return {**answer, "by": by, "entities": entities}


def latest_anomaly(
    *,
    user: AbstractBaseUser,
    filters: EventFilters,
    series: str,
    sensitivity: str,
    now: dt.datetime,
    interval: str | None = None,
) -> dict | None:
    """The anomaly holding the latest bucket complete at `now`, if that bucket is one (for an anomaly alert rule)."""
    answer = series_anomalies(
        user=user, filters=filters, series=series, interval=interval, sensitivity=sensitivity, until=now
    )
    if not answer["series"] or not answer["series"][-1]["anomaly"]:
        return None
    latest = answer["series"][-1]["t"]
    return next(anomaly for anomaly in answer["anomalies"] if anomaly["from"] <= latest < anomaly["to"])
