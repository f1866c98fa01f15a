"""Alert rules: create, change and delete (each setting checked into a sentence when wrong), and the preview of a
rule's settings over its owner's recent events."""

import datetime as dt
import math

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from elasticsearch import ApiError, TransportError

from analytics import anomalies, rules_queries
from analytics.filters import RESERVED, check_field_name, filters_from, scoped_search
from config.errors import ApplicationError, ServiceUnavailable
from notifications import events
from notifications.models import AlertEvent, AlertRule, Channel
from notifications.rules.durations import UNITS, duration_text, seconds_from
from notifications.rules.judging import ANOMALY, FLATLINE, FREQUENCY, METRIC, NEW_TERM, SPIKE, Terms, episodes
from notifications.services.evaluation import (
    MAX_WINDOWS,
    anomaly_filters,
    anomaly_history_start,
    query_filters,
    rule_verdicts,
    window_end,
)

DAY = UNITS["d"]
WINDOW_LIMITS = {"minimum": 60, "maximum": 30 * DAY}
EVERY_LIMITS = {"minimum": 60, "maximum": DAY}
REALERT_LIMITS = {"minimum": 60, "maximum": 30 * DAY}
HISTORY_LIMITS = {"minimum": DAY, "maximum": 365 * DAY}
DEFAULT_HISTORY = "30d"
PREVIEW_DAYS = (1, 30)
# The preview lists at most this many fired windows (it counts them all).
PREVIEW_LISTED = 1000
# Search parameters a rule keeps: the query text and the filters. Its window is its time, and paging or output
# options mean nothing to it.
QUERY_FILTERS = {"q", "log_type", "country", "job_id", "status", "owner"}
MAX_QUERY_PARAMETERS = 20
MAX_QUERY_VALUES = 100
LARGEST = 1e12
# Settings that change what a rule fires on: changing one starts its evaluations afresh (no catch-up).
CONDITION = (
    "type",
    "query",
    "window_seconds",
    "threshold",
    "field",
    "metric",
    "direction",
    "ratio",
    "history_seconds",
    "series",
    "sensitivity",
)
# An anomaly rule's window is the bucket its series is cut into: one of the intervals /api/anomalies offers.
ANOMALY_BUCKETS = {int(step.total_seconds()): name for name, step in anomalies.INTERVALS}


def _name(value) -> str:
    name = str(value or "").strip()
    if not name or len(name) > 100:
        raise ApplicationError("name: give the rule a name of 1 to 100 characters")
    return name


def _query(values) -> dict:
    """The saved search as {"q": text, filter: [values]}, checked by the same reader as /api/search."""
    if not isinstance(values, dict):
        raise ApplicationError('query: an object of search parameters, such as {"q": "checkout", "status": 404}')
    if len(values) > MAX_QUERY_PARAMETERS:
        raise ApplicationError(f"query: at most {MAX_QUERY_PARAMETERS} search parameters")
    params, query = QueryDict(mutable=True), {}
    for name, value in values.items():
        name = str(name)
        if name in RESERVED and name not in QUERY_FILTERS:
            raise ApplicationError(f"query: a rule does not keep '{name}' (its window is its time range)")
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_QUERY_VALUES or any(
            isinstance(item, bool) or not isinstance(item, (str, int, float)) for item in items
        ):
            raise ApplicationError(f"query: {name[:60]} takes text or a number, or a list of them")
        texts = [str(item) for item in items if str(item) != ""]
        if texts:
            params.setlist(name, texts)
            query[name] = texts[0] if name == "q" else texts
    filters_from(params)  # a bad value is the same sentence /api/search answers
    return query


def _number(values: dict, name: str, *, minimum: float, why: str) -> float:
    value = values.get(name)
    if value is None or value == "":
        raise ApplicationError(f"{name}: {why}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApplicationError(f"{name}: {why}") from None
    if isinstance(value, bool) or not math.isfinite(number) or not minimum <= number <= LARGEST:
        raise ApplicationError(f"{name}: {why}")
    return number


def _choice(values: dict, name: str, choices: tuple[str, ...], default: str) -> str:
    value = values.get(name) or default
    if value not in choices:
        raise ApplicationError(f"{name}: one of {', '.join(choices)}")
    return value


def _field(values: dict, why: str) -> str:
    name = str(values.get("field") or "").strip()
    if not name:
        raise ApplicationError(f"field: {why}")
    return check_field_name(name)


def _frequency(values: dict) -> dict:
    threshold = _number(
        values, "threshold", minimum=1, why="how many matching events in the window fire it (1 or more)"
    )
    name = str(values.get("field") or "").strip()
    if name:
        rules_queries.value_field(check_field_name(name))
    return {"threshold": threshold, "field": name}


def _flatline(values: dict) -> dict:
    why = "it fires when fewer than this many matching events are in the window (1 or more)"
    return {"threshold": _number(values, "threshold", minimum=1, why=why)}


def _spike(values: dict) -> dict:
    why = "how many times more (or fewer) than the window before, a number above 1 such as 10"
    ratio = _number(values, "ratio", minimum=1, why=why)
    if ratio <= 1:
        raise ApplicationError(f"ratio: {why}")
    return {
        "ratio": ratio,
        "direction": _choice(values, "direction", ("up", "down", "both"), "both"),
        "threshold": _number(
            values,
            "threshold",
            minimum=0,
            why="the least count of the busier window, so a handful is no spike (e.g. 10)",
        ),
    }


def _new_term(values: dict) -> dict:
    history = seconds_from(values.get("history") or DEFAULT_HISTORY, name="history", **HISTORY_LIMITS)
    name = _field(values, "which field's new values to watch, such as geo.country_iso_code")
    rules_queries.value_field(name)
    return {"field": name, "history_seconds": history}


def _metric(values: dict) -> dict:
    name = _field(values, "the number field to measure, such as amount")
    rules_queries.number_field(name)
    return {
        "field": name,
        "metric": _choice(values, "metric", tuple(AlertRule.Metric.values), ""),
        "direction": _choice(values, "direction", ("above", "below"), "above"),
        "threshold": _number(values, "threshold", minimum=-LARGEST, why="the bound the metric is compared with"),
    }


def _anomaly(values: dict) -> dict:
    window = seconds_from(values.get("window") or "", name="window", **WINDOW_LIMITS)
    if window not in ANOMALY_BUCKETS:
        raise ApplicationError(
            f"window: an anomaly rule's window is the bucket its series is cut into, one of "
            f"{', '.join(ANOMALY_BUCKETS.values())}"
        )
    return {
        "series": anomalies.series_check(str(values.get("series") or "count").strip()),
        "sensitivity": _choice(values, "sensitivity", tuple(AlertRule.Sensitivity.values), "medium"),
    }


BY_TYPE = {
    FREQUENCY: _frequency,
    FLATLINE: _flatline,
    SPIKE: _spike,
    NEW_TERM: _new_term,
    METRIC: _metric,
    ANOMALY: _anomaly,
}


def _channels(owner: AbstractBaseUser, ids) -> list[Channel]:
    """The owner's channels by id; each must hear rule.fired, or the rule could never reach it."""
    if not isinstance(ids, list) or any(isinstance(item, bool) or not isinstance(item, int) for item in ids):
        raise ApplicationError("channels: a list of your channels' ids")
    found = {
        channel.pk: channel for channel in Channel.objects.filter(owner=owner, pk__in=[i for i in ids if 0 < i < 2**62])
    }
    missing = [item for item in ids if item not in found]
    if missing:
        raise ApplicationError(f"channels: you have no channel {missing[0]}")
    for channel in found.values():
        if events.RULE_FIRED not in channel.events:
            raise ApplicationError(
                f'channels: "{channel.name}" does not hear rule.fired; tick "Alert rule fired" on that channel first'
            )
    return list(found.values())


def rule_checked(*, owner: AbstractBaseUser, values: dict) -> tuple[dict, list[Channel]]:
    """The model fields of a rule from its settings as the API and the form give them, and its channels."""
    kind = values.get("type")
    if kind not in BY_TYPE:
        raise ApplicationError(f"type: one of {', '.join(BY_TYPE)}")
    fields = {
        "name": _name(values.get("name")),
        "type": kind,
        "query": _query(values.get("query") or {}),
        "window_seconds": seconds_from(values.get("window") or "", name="window", **WINDOW_LIMITS),
        "every_seconds": seconds_from(values.get("every") or "1m", name="every", **EVERY_LIMITS),
        "realert_seconds": seconds_from(values.get("realert") or "0", name="realert", zero=True, **REALERT_LIMITS),
        "notify_resolved": bool(values.get("notify_resolved", True)),
        "enabled": bool(values.get("enabled", True)),
        "threshold": None,
        "field": "",
        "metric": "",
        "direction": "",
        "ratio": None,
        "history_seconds": None,
        "series": "",
        "sensitivity": "",
    }
    fields.update(BY_TYPE[kind](values))
    return fields, _channels(owner, values.get("channels") or [])


def rule_settings(rule: AlertRule) -> dict:
    """A rule's settings as the API and the form write them ("5m", channel ids)."""
    return {
        "name": rule.name,
        "type": rule.type,
        "query": rule.query,
        "window": duration_text(rule.window_seconds),
        "every": duration_text(rule.every_seconds),
        "threshold": rule.threshold,
        "field": rule.field,
        "metric": rule.metric,
        "direction": rule.direction,
        "ratio": rule.ratio,
        "history": duration_text(rule.history_seconds) if rule.history_seconds else "",
        "series": rule.series,
        "sensitivity": rule.sensitivity,
        "channels": sorted(rule.channels.values_list("pk", flat=True)) if rule.pk else [],
        "realert": duration_text(rule.realert_seconds),
        "notify_resolved": rule.notify_resolved,
        "enabled": rule.enabled,
    }


def rule_create(*, owner: AbstractBaseUser, **values) -> AlertRule:
    """A new rule, due at once (its first run judges the window ending now)."""
    fields, channels = rule_checked(owner=owner, values=values)
    with transaction.atomic():
        rule = AlertRule.objects.create(owner=owner, **fields)
        rule.channels.set(channels)
    return rule


def _close_quietly(rule: AlertRule) -> None:
    """A disabled rule fires no more: its open events are resolved now, without a notification."""
    rule.events.filter(state=AlertEvent.State.FIRING).update(
        state=AlertEvent.State.RESOLVED, resolved_at=timezone.now()
    )


def rule_update(*, rule: AlertRule, **changes) -> AlertRule:
    """Change some settings (the others stay). A changed condition, or enabling again, starts its evaluations afresh
    from now (no catch-up over the time it was off); disabling resolves its open events quietly."""
    fields, channels = rule_checked(owner=rule.owner, values={**rule_settings(rule), **changes})
    restart = any(getattr(rule, name) != fields[name] for name in CONDITION) or (fields["enabled"] and not rule.enabled)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(rule, name, value)
        if restart:
            rule.last_window_end = rule.next_due_at = None
        rule.save()
        rule.channels.set(channels)
        if not rule.enabled:
            _close_quietly(rule)
    return rule


def rule_delete(*, rule: AlertRule) -> None:
    """The rule, its run history and its events."""
    rule.delete()


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _fired(terms: Terms, verdicts) -> list[dict]:
    """Each window that meets the condition: its end and value (per value: each value's count); new terms: each new
    value with the time it was first seen."""
    fired = []
    for verdict in verdicts:
        if not verdict.fired:
            continue
        if terms.type == NEW_TERM:
            fired += [
                {"at": breach.detail["first_seen"].replace("+00:00", "Z"), "value": breach.key, "count": breach.value}
                for breach in verdict.breaches
            ]
        elif terms.field and terms.type == FREQUENCY:
            values = {breach.key: breach.value for breach in verdict.breaches}
            fired.append({"at": _iso(verdict.end), "value": verdict.value, "values": values})
        else:
            fired.append({"at": _iso(verdict.end), "value": verdict.value, **verdict.detail})
    return fired


def rule_preview(*, owner: AbstractBaseUser, fields: dict, days: int = 7, now: dt.datetime | None = None) -> dict:
    """When a rule with these settings would have fired over the last `days` of the owner's events, from one query:
    {"fired": [{"at", "value"}], "count", "events", "windows", "from", "to", "window"}.

    It judges back-to-back windows ending now; the running rule slides its window every interval, so it can also
    catch a burst that straddles two of these windows.
    """
    if not PREVIEW_DAYS[0] <= days <= PREVIEW_DAYS[1]:
        raise ApplicationError(f"days: from {PREVIEW_DAYS[0]} to {PREVIEW_DAYS[1]}")
    if fields["type"] == ANOMALY:
        return _anomaly_preview(owner=owner, fields=fields, days=days, end=window_end(now or timezone.now()))
    window = fields["window_seconds"]
    count = days * DAY // window
    if count < 1:
        raise ApplicationError(f"days: {days} days hold no whole {duration_text(window)} window; ask for more days")
    if count > MAX_WINDOWS:
        raise ApplicationError(
            f"days: {days} days of {duration_text(window)} windows are {count:,} windows; a preview judges at most "
            f"{MAX_WINDOWS:,} (ask for fewer days, or use a longer window)"
        )
    terms = Terms(
        type=fields["type"],
        window=dt.timedelta(seconds=window),
        threshold=fields["threshold"],
        field=fields["field"],
        metric=fields["metric"],
        direction=fields["direction"],
        ratio=fields["ratio"],
    )
    end = window_end(now or timezone.now())
    start = end - count * terms.window
    history = dt.timedelta(seconds=fields["history_seconds"]) if fields["history_seconds"] else None
    try:
        search = scoped_search(owner, query_filters(fields["query"]))
        verdicts = rule_verdicts(terms=terms, search=search, start=start, end=end, history=history)
    except (ApiError, TransportError) as error:
        raise ServiceUnavailable("Elasticsearch could not be reached; try the preview again in a moment.") from error
    fired = _fired(terms, verdicts)
    return {
        "fired": fired[:PREVIEW_LISTED],
        "count": len(fired),
        "events": episodes(verdicts),
        "windows": len(verdicts),
        "from": _iso(start),
        "to": _iso(end),
        "window": duration_text(window),
    }


def _anomaly_preview(*, owner: AbstractBaseUser, fields: dict, days: int, end: dt.datetime) -> dict:
    """The anomalies of the last `days` in the rule's series, scored over the same history the rule reads."""
    bucket = dt.timedelta(seconds=fields["window_seconds"])
    start = end - dt.timedelta(days=days)
    if (end - start) / bucket > anomalies.MAX_BUCKETS - 1:
        raise ApplicationError(
            f"days: {days} days of {duration_text(fields['window_seconds'])} buckets are more than the "
            f"{anomalies.MAX_BUCKETS:,} the anomaly model scores; ask for fewer days, or use a longer window"
        )
    try:
        answer = anomalies.series_anomalies(
            user=owner,
            filters=anomaly_filters(fields["query"], start=min(start, anomaly_history_start(end, bucket)), end=end),
            series=fields["series"],
            interval=duration_text(fields["window_seconds"]),
            sensitivity=fields["sensitivity"],
            until=end,
            explain=False,
        )
    except (ApiError, TransportError) as error:
        raise ServiceUnavailable("Elasticsearch could not be reached; try the preview again in a moment.") from error
    fired = [
        {"at": found["to"], "value": found["value"], "explanation": found["explanation"]}
        for found in answer["anomalies"]
        if dt.datetime.fromisoformat(found["to"]) > start
    ]
    return {
        "fired": fired[:PREVIEW_LISTED],
        "count": len(fired),
        "events": len(fired),
        "windows": int((end - start) / bucket),
        "from": _iso(start),
        "to": _iso(end),
        "window": duration_text(fields["window_seconds"]),
        "note": "The preview scores the whole span at once, as the anomalies page does; the running rule scores "
        "each bucket once it is complete, against the history before it, so the two can differ near the edges.",
    }


def rule_fields(rule: AlertRule) -> dict:
    """A saved rule's model fields, as `rule_preview` takes them."""
    return {name: getattr(rule, name) for name in CONDITION}
