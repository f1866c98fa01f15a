"""Analytics panels: core Elasticsearch aggregations (elasticsearch-dsl `A`) plus figures derived in Python.

No scripts and no pipeline aggregations: the local Elasticsearch has neither, so ratios, rates, exact
percentiles and the weekday x hour fold are computed here from plain aggregations.
"""

import bisect
import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from elasticsearch_dsl import A, Q, Search

from analytics import orders
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
# The timeline splits orders and revenue by this many currencies (those with the most lines).
TIMELINE_CURRENCIES = 5
MAX_CARDINALITY_PRECISION = 40000


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _empty(search: Search) -> Search:
    return search.extra(size=0, track_total_hits=True)


# Summary


def _order_values(base: Search, main: dict, totals: list[orders.OrderTotal] | None) -> tuple[list[float], Search, int]:
    """The main currency's per-order totals in memory, and its single-line orders left in the index."""
    sales = base.filter(orders.SALE).filter(orders.currency_query(main["currency"]))
    if totals is None:
        return [], sales, main["lines"]
    grouped = sorted(t.total for t in totals if t.currency == main["currency"] and not t.cancelled)
    return grouped, sales.filter(orders.WITHOUT_ORDER_ID), main["orders"] - len(grouped)


def summary(search: Search) -> dict:
    """Events, customers, visitors; orders per currency (line items grouped by order id), the main currency first."""
    base = search.extra(size=0)
    search = _empty(search)
    search.aggs.metric("customers", A("cardinality", field="user_id", precision_threshold=MAX_CARDINALITY_PRECISION))
    search.aggs.metric("visitors", A("cardinality", field="ip", precision_threshold=MAX_CARDINALITY_PRECISION))
    search.aggs.metric("first", A("min", field="@timestamp"))
    search.aggs.metric("last", A("max", field="@timestamp"))
    orders.add_currency_aggs(search.aggs)
    orders.add_repeat_check(search.aggs)
    response = search.execute()
    aggs = response.aggregations
    totals = orders.order_totals(base) if orders.has_repeats(aggs) else None
    groups = [orders.group_figures(currency, group, totals) for currency, group in orders.currency_groups(aggs)]
    groups.sort(key=lambda group: (-group["orders"], -group["lines"], group["currency"] or ""))
    main = groups[0] if groups else orders.no_orders()
    grouped, single, single_count = _order_values(base, main, totals) if groups else ([], base, 0)
    median, p95 = orders.order_median_and_p95(grouped, single, single_count)
    return {
        "events": response.hits.total.value,
        **main,
        # Every line with an amount, of every currency (main["lines"] counts the main currency's sales).
        "lines": sum(group["lines"] + group["cancelled_lines"] for group in groups),
        "median_order": _round(median),
        "p95_order": _round(p95),
        "customers": aggs.customers.value,
        "visitors": aggs.visitors.value,
        "first_event": aggs.first.value_as_string if aggs.first.value is not None else None,
        "last_event": aggs.last.value_as_string if aggs.last.value is not None else None,
        "currencies": groups,
    }


# Timeline


def time_span(search: Search) -> tuple[dt.datetime, dt.datetime] | None:
    span, _ = _time_span_and_currencies(search)
    return span


def _time_span_and_currencies(search: Search) -> tuple[tuple[dt.datetime, dt.datetime] | None, list[str]]:
    """The first and last event, and the currencies with the most lines (those the timeline splits by)."""
    bounds = _empty(search)
    bounds.aggs.metric("first", A("min", field="@timestamp"))
    bounds.aggs.metric("last", A("max", field="@timestamp"))
    with_amount = bounds.aggs.bucket("with_amount", A("filter", Q("exists", field="amount")))
    with_amount.bucket("currencies", A("terms", field="currency", size=TIMELINE_CURRENCIES))
    aggs = bounds.execute().aggregations
    if aggs.first.value is None:
        return None, []
    first, last = (dt.datetime.fromtimestamp(value / 1000, dt.UTC) for value in (aggs.first.value, aggs.last.value))
    return (first, last), [bucket.key for bucket in aggs.with_amount.currencies.buckets]


def auto_interval(span: dt.timedelta) -> str:
    for name, length in INTERVALS:
        if span / length <= MAX_TIMELINE_BUCKETS:
            return name
    return INTERVALS[-1][0]


def timeline_interval(search: Search) -> str | None:
    """The interval the timeline picks for these events by itself (None: no events)."""
    span = time_span(search)
    return auto_interval(span[1] - span[0]) if span else None


def _grouped_orders_per_bucket(totals: list[orders.OrderTotal], starts: list[int]) -> dict[tuple[int, str | None], int]:
    """How many orders with an id start in each (bucket, currency): an order counts where its first line is."""
    counts: dict[tuple[int, str | None], int] = {}
    for total in totals:
        if not total.cancelled:
            key = (bisect.bisect_right(starts, total.first_ms) - 1, total.currency)
            counts[key] = counts.get(key, 0) + 1
    return counts


def timeline(search: Search, interval: str | None = None) -> dict:
    """Events per interval by log type, and orders; orders, revenue, cancellations and average order of the
    currencies with the most lines (filter by `currency=` for another one) and of events with no currency."""
    span, currencies = _time_span_and_currencies(search)
    if span is None:
        return {"interval": interval or "day", "buckets": []}
    interval = interval or auto_interval(span[1] - span[0])
    if interval not in dict(INTERVALS):
        raise ApplicationError(f"interval: one of {', '.join(dict(INTERVALS))}")
    base = search.extra(size=0)
    search = _empty(search)
    orders.add_repeat_check(search.aggs)
    histogram = search.aggs.bucket(
        "time", A("date_histogram", field="@timestamp", calendar_interval=interval, min_doc_count=0)
    )
    histogram.bucket("types", A("terms", field="log_type", size=10))
    orders.add_currency_aggs(histogram, only=currencies)
    aggs = search.execute().aggregations
    totals = orders.order_totals(base) if orders.has_repeats(aggs) else None
    time_buckets = aggs.time.buckets
    grouped = _grouped_orders_per_bucket(totals or [], [bucket.key for bucket in time_buckets])
    buckets = []
    for number, bucket in enumerate(time_buckets):
        by_currency = [
            _bucket_currency(currency, group, grouped.get((number, currency), 0), totals is not None)
            for currency, group in orders.currency_groups(bucket)
        ]
        every_currency = sum(count for (at, _), count in grouped.items() if at == number)
        buckets.append(
            {
                "time": bucket.key_as_string,
                "events": bucket.doc_count,
                "by_log_type": {item.key: item.doc_count for item in bucket.types.buckets},
                "orders": _bucket_orders(bucket.money, every_currency, totals is not None),
                "by_currency": by_currency,
            }
        )
    return {"interval": interval, "buckets": buckets}


def _bucket_orders(group, grouped_orders: int, lines_grouped: bool) -> int:
    """Orders in a bucket: lines without an order id, plus the orders with one that start there."""
    return group.sales.without_id.doc_count + grouped_orders if lines_grouped else group.sales.doc_count


def _bucket_currency(currency: str | None, group, grouped_orders: int, lines_grouped: bool) -> dict:
    sales, cancelled = group.sales, group.cancelled
    count = _bucket_orders(group, grouped_orders, lines_grouped)
    revenue = sales.total.value if sales.doc_count else 0.0
    return {
        "currency": currency,
        "orders": count,
        "revenue": _round(revenue),
        "cancellations": _round(cancelled.total.value if cancelled.doc_count else 0.0),
        "average_order": _round(revenue / count) if count else None,
    }


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


NO_CATEGORY = "(no category)"


def _category_rows(rows: list[dict]) -> list[dict]:
    """Placeholders a file writes for "none" ("", ".", "-") are one "(no category)" row, not categories."""
    merged: dict[str, dict] = {}
    for row in rows:
        name = row["category"] if any(char.isalnum() for char in str(row["category"])) else NO_CATEGORY
        if name in merged:
            for key in ("revenue", "items", "orders"):
                merged[name][key] = (
                    _round(merged[name][key] + row[key]) if key == "revenue" else merged[name][key] + row[key]
                )
        else:
            merged[name] = {**row, "category": name}
    return sorted(merged.values(), key=lambda row: -(row["revenue"] or 0))


def _in_main_currency(search: Search, add_terms: Callable[[object], None]) -> tuple[str | None, object | None]:
    """Runs the category terms under the currency with the most of these sales (or under "no currency").

    Revenue by category adds amounts together, so it is shown for one currency: never a mix of them.
    """
    search = _empty(search)
    add_terms(search.aggs.bucket("currency", A("terms", field="currency", size=1)))
    add_terms(search.aggs.bucket("none", A("filter", Q("bool", must_not=[Q("exists", field="currency")]))))
    aggs = search.execute().aggregations
    if "currency" not in aggs:  # no shard held these events (no daily index in the range): nothing to group
        return None, None
    top = aggs.currency.buckets[0] if aggs.currency.buckets else None
    if top is not None and top.doc_count >= aggs.none.doc_count:
        return top.key, top
    return None, aggs.none


def _line_item_categories(search: Search, path: str, category: str, price: str, size: int) -> dict | None:
    def add_terms(parent) -> None:
        items = parent.bucket("line_items", A("nested", path=path))
        terms = items.bucket("categories", A("terms", field=category, size=size, order={"revenue": "desc"}))
        terms.metric("revenue", A("sum", field=price))
        terms.bucket("orders", A("reverse_nested"))

    listed = search.filter(orders.SALE).filter(Q("nested", path=path, query=Q("exists", field=category)))
    currency, group = _in_main_currency(listed, add_terms)
    if group is None:
        return None
    rows = [
        {
            "category": bucket.key,
            "revenue": _round(bucket.revenue.value),
            "items": bucket.doc_count,
            "orders": bucket.orders.doc_count,
        }
        for bucket in group.line_items.categories.buckets
    ]
    if not rows:
        return None
    return {
        "source": f"{category} x {price} (each line item)",
        "currency": currency,
        "categories": _category_rows(rows),
    }


def _event_categories(search: Search, category: str, size: int) -> dict:
    def add_terms(parent) -> None:
        terms = parent.bucket("categories", A("terms", field=category, size=size, order={"revenue": "desc"}))
        terms.metric("revenue", A("sum", field="amount"))

    sales = search.filter(orders.SALE).filter(Q("exists", field=category))
    currency, group = _in_main_currency(sales, add_terms)
    rows = [
        {
            "category": bucket.key,
            "revenue": _round(bucket.revenue.value),
            "items": bucket.doc_count,
            "orders": bucket.doc_count,
        }
        for bucket in (group.categories.buckets if group is not None else [])
    ]
    if not rows:
        return {
            "source": None,
            "currency": None,
            "categories": [],
            "empty_reason": "no sale in these events has a category",
        }
    return {"source": f"{category} x amount", "currency": currency, "categories": _category_rows(rows)}


def categories(search: Search, size: int = 20) -> dict:
    """Revenue by product category in the main currency: each line item's own price under its own category when
    orders list them, else each sale's amount under its category."""
    fields = field_map()
    for path in NESTED_FIELDS:
        if path not in fields.nested:
            continue
        category = _first_present(fields, f"{path}.", CATEGORY_FIELDS, ("keyword",))
        price = _first_present(fields, f"{path}.", PRICE_FIELDS, ("double", "long", "float", "integer"))
        if category and price and (found := _line_item_categories(search, path, category, price, size)):
            return found
    category = _first_present(fields, "", CATEGORY_FIELDS, ("keyword",))
    if category is None:
        return {"source": None, "currency": None, "categories": [], "empty_reason": "no category field in these events"}
    return _event_categories(search, category, size)


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
