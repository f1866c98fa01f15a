"""Search, analytics, dashboard and live pages: the same query builders as the API, rendered on the server."""

from urllib.parse import urlencode

import orjson
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from analytics import anomalies, panels, search
from analytics.dashboard import dashboard
from analytics.filters import RESERVED, EventFilters, check_field_name, filters_from, scoped_search
from analytics.selectors import page_panels, panels_get, staff_looking_note
from analytics.templatetags.analytics_format import currency_label
from config.errors import ApplicationError
from config.kibana import discover_url
from ingestion.contract import CANONICAL_FIELDS, LOG_TYPE_LABELS

SORTS = {
    "-@timestamp": "Newest first",
    "@timestamp": "Oldest first",
    "-amount": "Largest amount first",
    "amount": "Smallest amount first",
}
# The two inputs of the pages' "filter on any field" pair.
ADD_PAIR = ("add_field", "add_value")
DEFAULT_TOP_FIELD = "geo.country_iso_code"
# Currencies drawn one by one in the orders-per-currency chart; the others are counted together.
TOP_CURRENCIES = 5
# Rows the live page keeps: older ones drop off the bottom as new events arrive.
LIVE_PAGE_ROWS = 500
# The live page's boxes; every other filter (a link's status=404, a field=value) is kept as a chip.
LIVE_BOXES = frozenset({"q", "log_type", "stream"})
# The timeline's calendar intervals that have a fixed twin for the anomaly band (weeks and months do not).
TIMELINE_BAND_INTERVALS = {"minute": "1m", "hour": "1h", "day": "1d"}
# Series offered on the anomalies page; any other (avg:<field>...) works too, typed into the box.
ANOMALY_SERIES = {
    "count": "Events",
    "error_rate": "Error rate (5xx)",
    "sum:amount": "Revenue",
    "avg:amount": "Average amount",
    "cardinality:user_id": "Distinct customers",
}
ANOMALY_BY_CHOICES = ("geo.country_iso_code", "log_type", "http_status", "host", "product_category")
# Fields offered for "top values"; any other field of the data works too (typed into the box).
TOP_FIELD_CHOICES = (
    "geo.country_iso_code",
    "geo.city_name",
    "user_id",
    "products.product_name",
    "url",
    "request",
    "product_category",
    "http_status",
    "log_type",
)


def _lucene(filters: EventFilters) -> str:
    """The same filters in Lucene syntax, for Kibana Discover."""
    parts = [f"({filters.text})"] if filters.text else []
    pairs = [("log_type", filters.log_types), ("stream", filters.streams), ("geo.country_iso_code", filters.countries)]
    pairs += [("job_id", filters.job_ids)]
    pairs += [("http_status", tuple(map(str, filters.http_statuses))), *filters.fields.items()]
    for name, values in pairs:
        if values:
            escaped = name.replace("@", "\\@")
            parts.append("(" + " OR ".join(f'{escaped}:"{value}"' for value in values) + ")")
    return " AND ".join(parts)


def _with_added_field_filter(request: HttpRequest) -> HttpResponse | None:
    """The form's "add a field filter" pair becomes an ordinary field=value parameter."""
    name, value = request.GET.get("add_field", "").strip(), request.GET.get("add_value", "").strip()
    if not name and not value:
        return None
    if not name or not value:
        raise ApplicationError("Filter on any field: give both a field name and a value")
    params = [(key, item) for key, items in request.GET.lists() for item in items if key not in ADD_PAIR]
    return redirect(f"{request.path}?{urlencode([*params, (check_field_name(name), value)])}")


def _params_without(request: HttpRequest, *dropped: tuple[str, str]) -> str:
    """This page's query string without some name=value pairs (and without its cursor: results start over)."""
    kept = [
        (name, value)
        for name, values in request.GET.lists()
        for value in values
        if (name, value) not in dropped and name not in ("cursor", *ADD_PAIR)
    ]
    return urlencode(kept)


def _typed_form(request: HttpRequest) -> dict:
    """The filter form as the user filled it in, right or wrong: after an error it comes back ready to fix."""
    params = request.GET
    fields = [
        (name, value) for name, values in params.lists() if name not in RESERVED for value in values if value != ""
    ]
    folded = ("from", "to", "log_type", "stream", "country", "job_id", "status")
    return {
        # How many of the filters under "More filters" are set: the folded form says so.
        "in_use": sum(1 for name in folded if _joined(params.getlist(name))) + len(fields),
        "q": params.get("q", ""),
        "start": params.get("from", ""),
        "end": params.get("to", ""),
        "log_types": params.getlist("log_type"),
        "stream": _joined(params.getlist("stream")),
        "country": _joined(params.getlist("country")),
        "job_id": _joined(params.getlist("job_id")),
        "status": _joined(params.getlist("status")),
        "add_field": params.get("add_field", ""),
        "add_value": params.get("add_value", ""),
        "field_filters": [(name, value, "?" + _params_without(request, (name, value))) for name, value in fields],
    }


def _joined(values: list[str]) -> str:
    return ",".join(value for value in values if value)


def _filter_context(request: HttpRequest, filters: EventFilters) -> dict:
    params = filters.as_params()
    return {
        "params": urlencode(params),
        "search_url": "/search/?" + urlencode(params),
        "kibana_url": discover_url(
            _lucene(filters), user=request.user, time_from=filters.start or "now-30y", time_to=filters.end or "now"
        ),
    }


def _render_error(request: HttpRequest, template: str, error: ApplicationError, context: dict) -> HttpResponse:
    return render(request, template, {**context, "error": error.message}, status=error.status_code)


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    context = {
        "nav": "search",
        "sorts": SORTS,
        "sort": request.GET.get("sort", search.DEFAULT_SORT),
        "log_types": LOG_TYPE_LABELS.items(),
        "form": _typed_form(request),
    }
    try:
        if response := _with_added_field_filter(request):
            return response
        filters = filters_from(request.GET)
        context.update(_filter_context(request, filters))
        page = search.search_page(
            user=request.user,
            filters=filters,
            sort=context["sort"],
            page_size=25,
            cursor=request.GET.get("cursor", ""),
        )
    except ApplicationError as error:
        return _render_error(request, "analytics/search.html", error, context)
    results = [{**hit, "summary": _summary(hit["source"]), "highlights": _highlights(hit)} for hit in page["results"]]
    next_params = [*filters.as_params(), ("sort", context["sort"]), ("cursor", page["next"])] if page["next"] else None
    context.update(
        {
            "page": page,
            "results": results,
            "next_url": "?" + urlencode(next_params) if next_params else None,
            "first_url": "?" + urlencode([*filters.as_params(), ("sort", context["sort"])]),
            "is_first_page": not request.GET.get("cursor"),
            "export_params": urlencode([*filters.as_params(), ("sort", context["sort"])]),
        }
    )
    return render(request, "analytics/search.html", context)


def _highlights(hit: dict, limit: int = 3) -> list[tuple[str, str]]:
    """(field, fragment) pairs; a keyword and its full-text twin mark the same words once."""
    seen, pairs = set(), []
    for name, fragments in hit["highlight"].items():
        for fragment in fragments:
            if fragment not in seen:
                seen.add(fragment)
                pairs.append((name.removesuffix(".text"), fragment))
    return pairs[:limit]


def _summary(source: dict) -> list[tuple[str, str]]:
    """A few telling fields of an event for its line in the results."""
    keys = ("log_type", "amount", "currency", "user_id", "ip", "geo", "http_status", "message", "url", "request")
    shown = []
    for key in keys:
        value = source.get(key)
        if key == "geo" and isinstance(value, dict):
            value = ", ".join(filter(None, (value.get("city_name"), value.get("country_iso_code")))) or None
        if value not in (None, "", {}):
            shown.append((key, str(value)[:140]))
    return shown[:6]


@login_required
@require_GET
def live_page(request: HttpRequest) -> HttpResponse:
    """The live view's filters; the browser then follows GET /api/live with the same parameters."""
    context = {"nav": "live", "log_types": LOG_TYPE_LABELS.items(), "max_rows": LIVE_PAGE_ROWS}
    try:
        if response := _with_added_field_filter(request):
            return response
        filters = filters_from(request.GET)
        # A query Elasticsearch would refuse is explained here, instead of a stream that will not open.
        search.search_check(user=request.user, filters=filters)
    except ApplicationError as error:
        return _render_error(request, "analytics/live.html", error, context)
    params = urlencode(filters.as_params())
    context.update(
        {
            "filters": filters,
            "stream": request.GET.get("stream", ""),
            "field_filters": [(name, value) for name, value in filters.as_params() if name not in LIVE_BOXES],
            "stream_url": f"/api/live?{params}",
            "search_url": f"/search/?{params}",
        }
    )
    return render(request, "analytics/live.html", context)


@login_required
@require_GET
def event_page(request: HttpRequest, doc_id: str) -> HttpResponse:
    try:
        event = search.document_get(user=request.user, doc_id=doc_id)
    except ApplicationError as error:
        return render(request, "404.html", {"nav": "search"}, status=error.status_code)
    source = event["source"]
    canonical = [(name, _dotted(source, name)) for name in CANONICAL_FIELDS if _dotted(source, name) is not None]
    return render(
        request,
        "analytics/event.html",
        {
            "nav": "search",
            "event": event,
            "canonical": canonical,
            "pretty": orjson.dumps(source, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode(),
            # A streamed event has a stream where an uploaded one has a job.
            "same_source_url": "/search/?"
            + urlencode(
                {"stream_id": source["stream_id"]} if source.get("stream_id") else {"job_id": source.get("job_id", "")}
            ),
        },
    )


def _dotted(source: dict, name: str) -> object:
    value: object = source
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@login_required
@require_GET
def analytics_page(request: HttpRequest) -> HttpResponse:
    top_typed = request.GET.get("field") or DEFAULT_TOP_FIELD
    context = {
        "nav": "analytics",
        "top_choices": TOP_FIELD_CHOICES,
        "log_types": LOG_TYPE_LABELS.items(),
        "form": _typed_form(request),
        "top_field": top_typed,
    }
    try:
        if response := _with_added_field_filter(request):
            return response
        filters = filters_from(request.GET)
        context.update(_filter_context(request, filters))
    except ApplicationError as error:
        return _render_error(request, "analytics/analytics.html", error, context)
    wanted = page_panels(top_typed)
    if request.user.is_staff:
        staff_looking_note()
    try:
        context["top_field"] = check_field_name(top_typed)
    except ApplicationError as error:
        # Only the top-values panel is wrong: it says so beside its field box, the other panels still show.
        del wanted["top"]
        context["top_error"] = error.message
    try:
        data = panels_get(user=request.user, filters=filters, wanted=wanted)
    except ApplicationError as error:
        return _render_error(request, "analytics/analytics.html", error, context)
    data.setdefault("top", {"field": top_typed, "values": [], "other": 0, "missing": None, "empty_reason": None})
    data["band"] = _timeline_band(request, filters)
    revenue_rows, currency_bars = _revenue_rows(data), _currency_bars(data["summary"]["currencies"])
    context.update(
        {
            "data": data,
            "revenue_rows": revenue_rows,
            "currency_bars": currency_bars,
            "chart_data": {**data, "revenue_rows": revenue_rows, "currency_bars": currency_bars},
            "filter_params": filters.as_params(),
            "heat_rows": _heat_rows(data["heatmap"]),
            "hours": range(24),
        }
    )
    return render(request, "analytics/analytics.html", context)


def _revenue_rows(data: dict) -> list[dict]:
    """The main currency's orders, revenue and cancellations per interval: money is never summed across currencies."""
    currency = data["summary"]["currency"]
    rows = []
    for bucket in data["timeline"]["buckets"]:
        mine = next((row for row in bucket["by_currency"] if row["currency"] == currency), None)
        empty = {"orders": 0, "revenue": 0.0, "cancellations": 0.0, "average_order": None}
        rows.append({"time": bucket["time"], **{key: (mine or empty)[key] for key in empty}})
    return rows


def _currency_bars(currencies: list[dict]) -> list[dict]:
    """Orders of the most used currencies, the rest as one "other" count (counts add up; money would not)."""
    bars = [{"label": currency_label(row["currency"]), "orders": row["orders"]} for row in currencies[:TOP_CURRENCIES]]
    rest = currencies[TOP_CURRENCIES:]
    if rest:
        bars.append({"label": f"{len(rest)} other currencies", "orders": sum(row["orders"] for row in rest)})
    return bars


def _timeline_band(request: HttpRequest, filters: EventFilters) -> dict | None:
    """The expected band of the events over time and its anomalies, per bucket of the timeline (same interval)."""
    interval = TIMELINE_BAND_INTERVALS.get(panels.timeline_interval(scoped_search(request.user, filters)))
    if interval is None:
        return None
    answer = anomalies.series_anomalies(
        user=request.user, filters=filters, series="count", interval=interval, explain=False
    )
    points = answer["series"]
    return {
        "times": [point["t"][:16] for point in points],
        "low": [point["low"] for point in points],
        "high": [point["high"] for point in points],
        "expected": [point["expected"] for point in points],
        "anomalies": [point["value"] if point["anomaly"] else None for point in points],
        "count": len(answer["anomalies"]),
        "note": answer["note"],
    }


def _heat_rows(heatmap: dict) -> list[tuple[str, list[tuple[int, int]]]]:
    """Weekday rows of (count, shade 0-9): the heatmap is an HTML table, readable without a chart."""
    top = heatmap["max"] or 1
    return [
        (day, [(count, round(9 * count / top)) for count in row])
        for day, row in zip(heatmap["days"], heatmap["cells"], strict=True)
    ]


@login_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff:
        staff_looking_note()
    board = dashboard(user=request.user)
    context = {"nav": "dashboard", "board": board, "total_jobs": sum(board["jobs_by_status"].values())}
    template = "analytics/_dashboard_body.html" if request.htmx else "analytics/dashboard.html"
    return render(request, template, context)


@login_required
@require_GET
def anomalies_page(request: HttpRequest) -> HttpResponse:
    """Anomalies of a series, explained, each with a link to search over its window."""
    context = {
        "nav": "anomalies",
        "series_choices": ANOMALY_SERIES,
        "by_choices": ANOMALY_BY_CHOICES,
        "sensitivities": ("low", "medium", "high"),
        "series": request.GET.get("series") or "count",
        "sensitivity": request.GET.get("sensitivity") or "medium",
        "by": request.GET.get("by", ""),
        "log_types": LOG_TYPE_LABELS.items(),
    }
    try:
        filters = filters_from(request.GET)
        context.update(_filter_context(request, filters))
        answer = anomalies.series_anomalies(
            user=request.user,
            filters=filters,
            series=context["series"],
            sensitivity=context["sensitivity"],
            by=context["by"] or None,
        )
    except ApplicationError as error:
        return _render_error(request, "analytics/anomalies.html", error, context)
    groups = answer["entities"] if context["by"] else [{"key": None, **answer}]
    for group in groups:
        for anomaly in group["anomalies"]:
            anomaly["search_url"] = _window_search(filters, anomaly, context["by"], group["key"])
    context.update({"answer": answer, "groups": groups, "total": sum(len(group["anomalies"]) for group in groups)})
    return render(request, "analytics/anomalies.html", context)


def _window_search(filters: EventFilters, anomaly: dict, by: str, key: str | None) -> str:
    """/search/ over the anomaly's window with the page's filters (and the entity, per entity)."""
    params = [(name, value) for name, value in filters.as_params() if name not in ("from", "to")]
    params += [("from", anomaly["from"]), ("to", anomaly["to"])]
    params += [(by, key)] if key is not None else []
    return "/search/?" + urlencode(params)
