"""Analytics panels: core Elasticsearch aggregations (elasticsearch-dsl `A`) plus figures derived in Python.

No scripts and no pipeline aggregations: the local Elasticsearch has neither, so ratios, rates, exact
percentiles and the weekday x hour fold are computed here from plain aggregations.
"""

import datetime as dt
import math
from collections.abc import Callable
from zoneinfo import ZoneInfo

from elasticsearch_dsl import A, Q, Search

from analytics.mapping import FieldMap, field_map
from config.errors import ApplicationError
from ingestion.contract import CATEGORY_FIELDS, NESTED_FIELDS

# Calendar intervals from fine to coarse; the timeline picks the first giving at most this many buckets.
MAX_TIMELINE_BUCKETS = 120
INTERVALS = (
    ("minute", dt.timedelta(minutes=1)),
    ("hour", dt.timedelta(hours=1)),
    ("day", dt.timedelta(days=1)),
    ("week", dt.timedelta(weeks=1)),
    ("month", dt.timedelta(days=30)),
    ("year", dt.timedelta(days=365)),
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PRICE_FIELDS = ("price", "unit_price", "base_price", "taxful_price", "amount")
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
# Exact enough: t-digest keeps every value of up to this many documents, and guesses well beyond.
PERCENTILE_COMPRESSION = 1000
MAX_CARDINALITY_PRECISION = 40000


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _empty(search: Search) -> Search:
    return search.extra(size=0, track_total_hits=True)


# Summary


def _kth_smallest(search: Search, field: str, k: int, guess: float) -> float:
    """The exact k-th smallest value of `field` (1-based), found from a close guess with a count and a short walk."""
    below = search.filter(Q("range", **{field: {"lt": guess}})).count()
    if below < k:
        rest = search.filter(Q("range", **{field: {"gte": guess}})).sort({field: "asc"}).source([field])
        offset = k - 1 - below
    else:
        rest = search.filter(Q("range", **{field: {"lt": guess}})).sort({field: "desc"}).source([field])
        offset = below - k
    # A close guess keeps the offset small; from+size beyond 10,000 would be refused by Elasticsearch.
    hits = rest.extra(from_=min(offset, 9999), size=1, track_total_hits=False).execute().hits
    return hits[0][field] if hits else guess


def exact_percentile(search: Search, field: str, percent: float, count: int, guess: float | None) -> float | None:
    """The nearest-rank percentile: the value at rank ceil(p/100 * n) of the sorted values."""
    if not count or guess is None:
        return None
    return _kth_smallest(search, field, max(1, math.ceil(percent / 100 * count)), guess)


def summary(search: Search) -> dict:
    """Events, orders (events with an amount), revenue, average and exact median/95th percentile, uniques."""
    base = search.extra(size=0)
    search = _empty(search)
    search.aggs.metric("amount", A("stats", field="amount"))
    search.aggs.metric(
        "guess", A("percentiles", field="amount", percents=[50, 95], tdigest={"compression": PERCENTILE_COMPRESSION})
    )
    search.aggs.metric("customers", A("cardinality", field="user_id", precision_threshold=MAX_CARDINALITY_PRECISION))
    search.aggs.metric("visitors", A("cardinality", field="ip", precision_threshold=MAX_CARDINALITY_PRECISION))
    search.aggs.metric("first", A("min", field="@timestamp"))
    search.aggs.metric("last", A("max", field="@timestamp"))
    search.aggs.bucket("currencies", A("terms", field="currency", size=20)).metric("revenue", A("sum", field="amount"))
    response = search.execute()
    aggs = response.aggregations
    orders = aggs.amount.count
    guesses = aggs.guess.values.to_dict()
    return {
        "events": response.hits.total.value,
        "orders": orders,
        "revenue": _round(aggs.amount.sum) if orders else 0.0,
        "average_order": _round(aggs.amount.avg),
        "median_order": _round(exact_percentile(base, "amount", 50, orders, guesses.get("50.0"))),
        "p95_order": _round(exact_percentile(base, "amount", 95, orders, guesses.get("95.0"))),
        "min_order": _round(aggs.amount.min),
        "max_order": _round(aggs.amount.max),
        "customers": aggs.customers.value,
        "visitors": aggs.visitors.value,
        "first_event": aggs.first.value_as_string if aggs.first.value is not None else None,
        "last_event": aggs.last.value_as_string if aggs.last.value is not None else None,
        "currencies": [
            {"currency": bucket.key, "orders": bucket.doc_count, "revenue": _round(bucket.revenue.value)}
            for bucket in aggs.currencies.buckets
        ],
    }


# Timeline


def time_span(search: Search) -> tuple[dt.datetime, dt.datetime] | None:
    bounds = _empty(search)
    bounds.aggs.metric("first", A("min", field="@timestamp"))
    bounds.aggs.metric("last", A("max", field="@timestamp"))
    aggs = bounds.execute().aggregations
    if aggs.first.value is None:
        return None
    first, last = (dt.datetime.fromtimestamp(value / 1000, dt.UTC) for value in (aggs.first.value, aggs.last.value))
    return first, last


def auto_interval(span: dt.timedelta) -> str:
    for name, length in INTERVALS:
        if span / length <= MAX_TIMELINE_BUCKETS:
            return name
    return INTERVALS[-1][0]


def timeline_interval(search: Search) -> str | None:
    """The interval the timeline picks for these events by itself (None: no events)."""
    span = time_span(search)
    return auto_interval(span[1] - span[0]) if span else None


def timeline(search: Search, interval: str | None = None) -> dict:
    """Events per interval by log type, and revenue, orders and average order per currency."""
    span = time_span(search)
    if span is None:
        return {"interval": interval or "day", "buckets": []}
    interval = interval or auto_interval(span[1] - span[0])
    if interval not in dict(INTERVALS):
        raise ApplicationError(f"interval: one of {', '.join(dict(INTERVALS))}")
    search = _empty(search)
    histogram = search.aggs.bucket(
        "time", A("date_histogram", field="@timestamp", calendar_interval=interval, min_doc_count=0)
    )
    histogram.bucket("types", A("terms", field="log_type", size=10))
    histogram.bucket("currencies", A("terms", field="currency", size=10)).metric("revenue", A("sum", field="amount"))
    histogram.metric("orders", A("value_count", field="amount"))
    histogram.metric("revenue", A("sum", field="amount"))
    buckets = []
    for bucket in search.execute().aggregations.time.buckets:
        orders = int(bucket.orders.value)
        buckets.append(
            {
                "time": bucket.key_as_string,
                "events": bucket.doc_count,
                "by_log_type": {item.key: item.doc_count for item in bucket.types.buckets},
                "orders": orders,
                "revenue": _round(bucket.revenue.value) if orders else 0.0,
                "average_order": _round(bucket.revenue.value / orders) if orders else None,
                "by_currency": {
                    item.key: {
                        "orders": item.doc_count,
                        "revenue": _round(item.revenue.value),
                        "average_order": _round(item.revenue.value / item.doc_count),
                    }
                    for item in bucket.currencies.buckets
                },
            }
        )
    return {"interval": interval, "buckets": buckets}


# Top values of any field


def _nested_terms(search: Search, path: str, field: str, size: int) -> list[dict]:
    search = _empty(search)
    search.aggs.bucket("line_items", A("nested", path=path)).bucket("top", A("terms", field=field, size=size)).bucket(
        "events", A("reverse_nested")
    )
    buckets = search.execute().aggregations.line_items.top.buckets
    return [{"value": bucket.key, "count": bucket.doc_count, "events": bucket.events.doc_count} for bucket in buckets]


def top(search: Search, field: str, size: int = 10) -> dict:
    """The most frequent values of a field (canonical or the file's own, nested line items included)."""
    size = max(1, min(size, 100))
    fields = field_map(field)
    target = fields.aggregatable(field)
    if target is None:
        reason = (
            "no document has this field"
            if field not in fields.types
            else f"a {fields.types[field]} field has no top values"
        )
        return {"field": field, "values": [], "other": 0, "missing": None, "empty_reason": reason}
    path = fields.nested_path(target)
    if path:
        return {"field": field, "values": _nested_terms(search, path, target, size), "other": None, "missing": None}
    search = _empty(search)
    search.aggs.bucket("top", A("terms", field=target, size=size))
    search.aggs.metric("missing", A("missing", field=target))
    aggs = search.execute().aggregations
    return {
        "field": field,
        "values": [{"value": bucket.key, "count": bucket.doc_count} for bucket in aggs.top.buckets],
        "other": aggs.top.sum_other_doc_count,
        "missing": aggs.missing.doc_count,
    }


# Revenue by category


def _first_present(fields: FieldMap, prefix: str, names: tuple[str, ...], kinds: tuple[str, ...]) -> str | None:
    for name in names:
        path = f"{prefix}{name}"
        if fields.types.get(path) in kinds:
            return path
    return None


def categories(search: Search, size: int = 20) -> dict:
    """Revenue by product category: each line item's own price under its own category when orders list them."""
    fields = field_map()
    for path in NESTED_FIELDS:
        if path not in fields.nested:
            continue
        category = _first_present(fields, f"{path}.", CATEGORY_FIELDS, ("keyword",))
        price = _first_present(fields, f"{path}.", PRICE_FIELDS, ("double", "long", "float", "integer"))
        if category and price:
            search = _empty(search)
            items = search.aggs.bucket("line_items", A("nested", path=path))
            terms = items.bucket("categories", A("terms", field=category, size=size, order={"revenue": "desc"}))
            terms.metric("revenue", A("sum", field=price))
            terms.bucket("orders", A("reverse_nested"))
            buckets = search.execute().aggregations.line_items.categories.buckets
            rows = [
                {
                    "category": bucket.key,
                    "revenue": _round(bucket.revenue.value),
                    "items": bucket.doc_count,
                    "orders": bucket.orders.doc_count,
                }
                for bucket in buckets
            ]
            return {"source": f"{category} x {price} (each line item)", "categories": rows}
    category = _first_present(fields, "", CATEGORY_FIELDS, ("keyword",))
    if category is None:
        return {"source": None, "categories": [], "empty_reason": "no category field in these events"}
    search = _empty(search)
    terms = search.aggs.bucket("categories", A("terms", field=category, size=size, order={"revenue": "desc"}))
    terms.metric("revenue", A("sum", field="amount"))
    rows = [
        {
            "category": bucket.key,
            "revenue": _round(bucket.revenue.value),
            "items": bucket.doc_count,
            "orders": bucket.doc_count,
        }
        for bucket in search.execute().aggregations.categories.buckets
    ]
    return {"source": f"{category} x amount", "categories": rows}


# Geography


def geo(search: Search, precision: int = 3) -> dict:
    """Events on a map (geotile grid cells with their centroid) and the top countries."""
    precision = max(0, min(precision, 10))
    search = _empty(search)
    cells = search.aggs.bucket("cells", A("geotile_grid", field="geo.location", precision=precision, size=2000))
    cells.metric("centre", A("geo_centroid", field="geo.location"))
    countries = search.aggs.bucket("countries", A("terms", field="geo.country_iso_code", size=30))
    countries.bucket("names", A("terms", field="geo.country_name", size=1))
    search.aggs.metric("located", A("value_count", field="geo.location"))
    aggs = search.execute().aggregations
    return {
        "precision": precision,
        "located": int(aggs.located.value),
        "cells": [
            {
                "tile": bucket.key,
                "count": bucket.doc_count,
                "lat": _round(bucket.centre.location.lat, 4),
                "lon": _round(bucket.centre.location.lon, 4),
            }
            for bucket in aggs.cells.buckets
        ],
        "countries": [
            {
                "country": bucket.key,
                "name": bucket.names.buckets[0].key if bucket.names.buckets else None,
                "count": bucket.doc_count,
            }
            for bucket in aggs.countries.buckets
        ],
    }


# HTTP status


def status(search: Search, interval: str | None = None) -> dict:
    """HTTP status classes and the error rate over time (share of 5xx, and of 4xx, per interval)."""
    span = time_span(search.filter(Q("exists", field="http_status")))
    if span is None:
        return {"classes": [], "interval": None, "buckets": [], "empty_reason": "no HTTP status in these events"}
    interval = interval or auto_interval(span[1] - span[0])
    search = _empty(search.filter(Q("exists", field="http_status")))
    ranges = [
        {"key": name, "from": (number + 1) * 100, "to": (number + 2) * 100}
        for number, name in enumerate(STATUS_CLASSES)
    ]
    search.aggs.bucket("classes", A("range", field="http_status", ranges=ranges))
    search.aggs.bucket("codes", A("terms", field="http_status", size=20))
    histogram = search.aggs.bucket(
        "time", A("date_histogram", field="@timestamp", calendar_interval=interval, min_doc_count=0)
    )
    histogram.bucket("server", A("filter", Q("range", http_status={"gte": 500})))
    histogram.bucket("client", A("filter", Q("range", http_status={"gte": 400, "lt": 500})))
    aggs = search.execute().aggregations
    total = sum(bucket.doc_count for bucket in aggs.classes.buckets)
    return {
        "classes": [{"class": bucket.key, "count": bucket.doc_count} for bucket in aggs.classes.buckets],
        "codes": [{"code": int(bucket.key), "count": bucket.doc_count} for bucket in aggs.codes.buckets],
        "error_rate": _round(sum(b.doc_count for b in aggs.classes.buckets if b.key == "5xx") / total, 4)
        if total
        else None,
        "interval": interval,
        "buckets": [
            {
                "time": bucket.key_as_string,
                "requests": bucket.doc_count,
                "server_errors": bucket.server.doc_count,
                "client_errors": bucket.client.doc_count,
                "server_error_rate": _round(bucket.server.doc_count / bucket.doc_count, 4)
                if bucket.doc_count
                else None,
                "client_error_rate": _round(bucket.client.doc_count / bucket.doc_count, 4)
                if bucket.doc_count
                else None,
            }
            for bucket in aggs.time.buckets
        ],
    }


# Day of week x hour


def heatmap(search: Search, time_zone: str = "UTC") -> dict:
    """Events per weekday and hour of day: hourly buckets (composite, so any span fits) folded here."""
    cells = [[0] * 24 for _ in WEEKDAYS]
    after = None
    while True:
        page = _empty(search).extra(track_total_hits=False)
        source = {"hour": A("date_histogram", field="@timestamp", fixed_interval="1h", time_zone=time_zone)}
        composite = {"sources": [source], "size": 5000}
        if after:
            composite["after"] = after
        page.aggs.bucket("hours", "composite", **composite)
        result = page.execute().aggregations.hours
        for bucket in result.buckets:
            start = dt.datetime.fromtimestamp(bucket.key.hour / 1000, dt.UTC) + _offset(time_zone, bucket.key.hour)
            cells[start.weekday()][start.hour] += bucket.doc_count
        after = result.to_dict().get("after_key")
        if not result.buckets or not after:
            break
    return {
        "time_zone": time_zone,
        "days": list(WEEKDAYS),
        "cells": cells,
        "max": max((value for row in cells for value in row), default=0),
    }


def _offset(time_zone: str, epoch_ms: int) -> dt.timedelta:
    """The zone's offset from UTC at that moment (the bucket keys are UTC instants of local hour starts)."""
    return dt.datetime.fromtimestamp(epoch_ms / 1000, ZoneInfo(time_zone)).utcoffset() or dt.timedelta(0)


PANELS: dict[str, Callable[..., dict]] = {
    "summary": summary,
    "timeline": timeline,
    "top": top,
    "categories": categories,
    "geo": geo,
    "status": status,
    "heatmap": heatmap,
}
