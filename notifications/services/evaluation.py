"""The alert rule engine: which rules are due, one evaluation (judged, recorded, claimed once), events fired and
resolved, realert, and the catch-up after an outage.

Time is event time (`@timestamp`). A window ends on a whole minute at least ALERT_RULES_LAG_SECONDS before now, so
late events are counted. A rule is due when the end of the window it last evaluated plus its interval has passed.
Normally an evaluation judges one window, [end - window, end). When time since the last evaluated end is longer
than a window (the workers were down, the rule runs less often than its window), the one evaluation judges every
window back to back from there to now, with the same single query, and records it as one run: an event that
fired and ended during the outage is recorded fired and resolved, and told once.

Everything lives in the database (the last evaluated end, open events, when each was last told), so a worker
restart resumes where it stopped. Two workers evaluating one rule at once is harmless: the run is claimed by
moving the rule's last evaluated end from the value it read, and the one whose update matches nothing drops its
result.
"""

import dataclasses
import datetime as dt
import logging
import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from elasticsearch import ApiError, TransportError
from elasticsearch_dsl import Search

from analytics import anomalies, rules_queries
from analytics.filters import EventFilters, filters_from, scoped_search
from config.errors import ApplicationError
from notifications import events
from notifications.models import AlertEvent, AlertRule, RuleEvaluation
from notifications.rules import words
from notifications.rules.durations import duration_text
from notifications.rules.judging import (
    ANOMALY,
    FREQUENCY,
    METRIC,
    NEW_TERM,
    SPIKE,
    Breach,
    Outcome,
    Terms,
    Verdict,
    judge_new_terms,
    judge_windows,
    outcomes,
)
from notifications.services.deliveries import deliveries_create

logger = logging.getLogger(__name__)

# The most windows one evaluation or preview judges (a week of one-minute windows); a longer outage is caught up
# over its last MAX_WINDOWS windows, and the run says how many it skipped.
MAX_WINDOWS = 10_080
# Documents' ids kept on an alert event (the first ones, in time order).
DOCUMENTS_PER_EVENT = 10
# The keys of a run's values kept in its record.
KEYS_RECORDED = 20
# An anomaly rule's model learns from at most four weeks before the bucket it judges (the weekly pattern), and
# from at most the anomaly model's largest number of buckets.
ANOMALY_HISTORY = dt.timedelta(days=28)
# What an alert event and its notification keep of the anomaly that fired it.
ANOMALY_DETAIL = ("explanation", "score", "expected", "direction", "peak")


def rule_terms(rule: AlertRule) -> Terms:
    return Terms(
        type=rule.type,
        window=dt.timedelta(seconds=rule.window_seconds),
        threshold=rule.threshold,
        field=rule.field,
        metric=rule.metric,
        direction=rule.direction,
        ratio=rule.ratio,
        series=rule.series,
        sensitivity=rule.sensitivity,
    )


def rule_history(rule: AlertRule) -> dt.timedelta | None:
    return dt.timedelta(seconds=rule.history_seconds) if rule.history_seconds else None


def query_filters(query: dict) -> EventFilters:
    """A rule's saved query as the search filters /api/search reads from the same parameters."""
    params = QueryDict(mutable=True)
    for name, values in query.items():
        params.setlist(name, values if isinstance(values, list) else [values])
    return filters_from(params)


def rule_search(rule: AlertRule) -> Search:
    """The events the rule's owner may see that match its saved query."""
    return scoped_search(rule.owner, query_filters(rule.query))


def rule_verdicts(
    *, terms: Terms, search: Search, start: dt.datetime, end: dt.datetime, history: dt.timedelta | None = None
) -> list[Verdict]:
    """Every window of [start, end) judged, from one aggregation query (new terms: plus the look back)."""
    if terms.type == NEW_TERM:
        name = rules_queries.value_field(terms.field)
        firsts = rules_queries.first_seen(search, name=name, start=start, end=end)
        before = rules_queries.values_seen(search, name=name, values=sorted(firsts), start=start - history, end=start)
        return judge_new_terms(rules_queries.windows_between(start, end, terms.window), firsts, before)
    options = {}
    if terms.type == FREQUENCY and terms.field:
        options = {"per_value": rules_queries.value_field(terms.field), "floor": math.ceil(terms.threshold)}
    if terms.type == METRIC:
        options = {"metric": (terms.metric, rules_queries.number_field(terms.field))}
    # A spike compares each window with the one before: the span starts a window earlier.
    first = start - terms.window if terms.type == SPIKE else start
    windows = rules_queries.window_histogram(search, start=first, end=end, window=terms.window, **options)
    return judge_windows(terms, windows)


def anomaly_filters(query: dict, *, start: dt.datetime, end: dt.datetime) -> EventFilters:
    """A rule's saved query over [start, end): the span an anomaly rule's model reads."""
    return dataclasses.replace(query_filters(query), start=_iso(start), end=_iso(end - dt.timedelta(milliseconds=1)))


def anomaly_history_start(end: dt.datetime, bucket: dt.timedelta) -> dt.datetime:
    """How far back an anomaly rule's model reads: four weeks, or fewer when that many buckets are too many."""
    return end - min(ANOMALY_HISTORY, (anomalies.MAX_BUCKETS - 1) * bucket)


def anomaly_verdict(*, owner: AbstractBaseUser, query: dict, terms: Terms, end: dt.datetime) -> Verdict:
    """The latest bucket complete at `end` judged by the anomaly model; when it is anomalous, the breach spans the
    whole anomaly it belongs to (its value and window are the anomaly's)."""
    found = anomalies.latest_anomaly(
        user=owner,
        filters=anomaly_filters(query, start=anomaly_history_start(end, terms.window), end=end),
        series=terms.series,
        sensitivity=terms.sensitivity,
        now=end,
        interval=duration_text(int(terms.window.total_seconds())),
    )
    if found is None:
        return Verdict(end - terms.window, end, None)
    start, stop = (dt.datetime.fromisoformat(found[name]) for name in ("from", "to"))
    detail = {name: found[name] for name in ANOMALY_DETAIL}
    return Verdict(start, stop, found["value"], (Breach("", found["value"], start, stop, detail),), detail)


def window_end(now: dt.datetime) -> dt.datetime:
    """The end of the latest window to judge: a whole minute at least the lag before now."""
    return (now - dt.timedelta(seconds=settings.ALERT_RULES_LAG_SECONDS)).replace(second=0, microsecond=0)


def rules_due(*, now: dt.datetime | None = None) -> list[int]:
    """The enabled rules whose next evaluation is due."""
    end = window_end(now or timezone.now())
    due = AlertRule.objects.filter(enabled=True).filter(Q(next_due_at__isnull=True) | Q(next_due_at__lte=end))
    return list(due.order_by("next_due_at", "pk").values_list("pk", flat=True))


def _span(rule: AlertRule, end: dt.datetime) -> tuple[dt.datetime, int]:
    """Where this run starts, and how many windows of a long outage it leaves out (beyond MAX_WINDOWS).

    An anomaly rule judges the latest complete bucket only: the model scores a bucket against all the history
    before it, so there is no cheaper catch-up than scoring the latest.
    """
    window = dt.timedelta(seconds=rule.window_seconds)
    if rule.type == ANOMALY or rule.last_window_end is None or end - rule.last_window_end <= window:
        return end - window, 0
    needed = math.ceil((end - rule.last_window_end) / window)
    return end - min(needed, MAX_WINDOWS) * window, max(0, needed - MAX_WINDOWS)


def search_path(rule: AlertRule, start: dt.datetime, end: dt.datetime, key: str = "") -> str:
    """/search/ with the rule's query, the window, and the value it fired for."""
    params = [(name, value) for name, values in rule.query.items() for value in _as_list(values)]
    if key and rule.field and rule.type in (FREQUENCY, NEW_TERM):
        params.append((rule.field, key))
    params += [("from", _iso(start)), ("to", _iso(end - dt.timedelta(milliseconds=1)))]
    return f"{reverse('search')}?{urlencode(params)}"


def _as_list(values) -> list:
    return values if isinstance(values, list) else [values]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _documents(rule: AlertRule, search: Search, outcome: Outcome) -> list[str]:
    """The first matching documents of the window an event first fired in (holding its value, per value)."""
    match = None
    if outcome.key and rule.type in (FREQUENCY, NEW_TERM):
        match = (rules_queries.value_field(rule.field), outcome.key)
    return rules_queries.window_documents(
        search, start=outcome.first.start, end=outcome.first.end, size=DOCUMENTS_PER_EVENT, match=match
    )


def event_data(rule: AlertRule, event: AlertEvent, *, repeat: bool = False) -> dict:
    """The `data` of rule.fired and rule.resolved: the rule, the event, its documents and search, and the words."""
    terms = rule_terms(rule)
    search_url = f"{settings.SITE_URL}{event.search_path}"
    if event.state == AlertEvent.State.RESOLVED:
        summary = words.resolved(rule.name, terms, key=event.key)
    else:
        summary = words.fired(rule.name, terms, key=event.key, value=event.value, detail=event.detail)
    lines = [words.window_line(event.window_start, event.window_end), f"Condition: {words.condition(terms)}."]
    if event.documents:
        lines.append(f"First matching events: {', '.join(event.documents[:5])}")
    anomaly = {}
    if rule.type == ANOMALY:
        anomaly = {"series": rule.series, "sensitivity": rule.sensitivity}
        anomaly.update({name: event.detail.get(name) for name in ANOMALY_DETAIL})
    return {
        "rule_id": rule.pk,
        "rule": rule.name,
        "type": rule.type,
        "event_id": event.pk,
        "state": event.state,
        "key": event.key,
        "field": rule.field,
        "value": event.value,
        "last_value": event.last_value,
        "threshold": rule.threshold,
        "window": duration_text(rule.window_seconds),
        "window_start": event.window_start,
        "window_end": event.window_end,
        "fired_at": event.fired_at,
        "resolved_at": event.resolved_at,
        "documents": event.documents,
        "search_url": search_url,
        "repeat": repeat,
        "summary": summary,
        "lines": lines,
        "url": search_url,
        "rule_url": f"{settings.SITE_URL}{reverse('alert-rule-page', args=[rule.pk])}",
        **anomaly,
    }


def _notify(rule: AlertRule, event: AlertEvent, channel_ids: list[int], *, resolved: bool = False) -> None:
    """Tell the rule's channels (those that hear this event type); keyed so a channel never hears it twice."""
    if not channel_ids or (resolved and not rule.notify_resolved):
        return
    if resolved:
        event_type, key, at = events.RULE_RESOLVED, f"rule:{rule.pk}:event:{event.pk}:resolved", event.resolved_at
    else:
        event_type, key, at = (
            events.RULE_FIRED,
            f"rule:{rule.pk}:event:{event.pk}:fired:{event.notices}",
            event.notified_at,
        )
    data = event_data(rule, event, repeat=not resolved and event.notices > 1)
    deliveries_create(owner_id=rule.owner_id, event_type=event_type, data=data, channel_ids=channel_ids, key=key, at=at)


def _resolve(rule: AlertRule, event: AlertEvent, at: dt.datetime, channel_ids: list[int]) -> None:
    event.state, event.resolved_at = AlertEvent.State.RESOLVED, at
    event.save(update_fields=["state", "resolved_at", "last_value", "last_fired_at"])
    _notify(rule, event, channel_ids, resolved=True)


def _tell_fired(rule: AlertRule, event: AlertEvent, at: dt.datetime, channel_ids: list[int]) -> None:
    event.notified_at, event.notices = at, event.notices + 1
    event.save(update_fields=["notified_at", "notices", "last_value", "last_fired_at"])
    _notify(rule, event, channel_ids)


def _still_open(
    rule: AlertRule,
    event: AlertEvent,
    outcome: Outcome | None,
    start: dt.datetime,
    end: dt.datetime,
    channel_ids: list[int],
) -> None:
    """An open event after this run: resolved where its condition stopped, or still firing (told again once the
    realert period has passed)."""
    window = dt.timedelta(seconds=rule.window_seconds)
    if outcome is None:
        _resolve(rule, event, start + window, channel_ids)
        return
    event.last_value, event.last_fired_at = outcome.last.value, outcome.last.end
    if not outcome.firing_now:
        _resolve(rule, event, min(outcome.last.end + window, end), channel_ids)
    elif rule.realert_seconds and outcome.last.end - event.notified_at >= dt.timedelta(seconds=rule.realert_seconds):
        _tell_fired(rule, event, outcome.last.end, channel_ids)
    else:
        event.save(update_fields=["last_value", "last_fired_at"])


def _open(rule: AlertRule, outcome: Outcome, documents: list[str], end: dt.datetime, channel_ids: list[int]) -> None:
    """A new event for a value that fired in this run; resolved at once if its condition stopped within the run."""
    first = outcome.first
    event = AlertEvent.objects.create(
        rule=rule,
        key=outcome.key,
        value=first.value,
        last_value=outcome.last.value,
        window_start=first.start,
        window_end=first.end,
        documents=documents,
        detail=first.detail,
        search_path=search_path(rule, first.start, first.end, outcome.key),
        fired_at=first.end,
        last_fired_at=outcome.last.end,
    )
    _tell_fired(rule, event, first.end, channel_ids)
    if not outcome.firing_now:
        _resolve(rule, event, min(outcome.last.end + dt.timedelta(seconds=rule.window_seconds), end), channel_ids)


def _record(
    rule: AlertRule, now: dt.datetime, start: dt.datetime, end: dt.datetime, verdicts: list[Verdict], skipped: int
) -> RuleEvaluation:
    last = verdicts[-1] if verdicts else None
    detail = dict(last.detail) if last else {}
    keys = [breach.key for breach in last.breaches if breach.key][:KEYS_RECORDED] if last else []
    if keys:
        detail["keys"] = keys
    fired_windows = sum(verdict.fired for verdict in verdicts)
    if len(verdicts) > 1:
        detail["windows_fired"] = fired_windows
    if skipped:
        detail["skipped_windows"] = skipped
    return RuleEvaluation.objects.create(
        rule=rule,
        evaluated_at=now,
        window_start=start,
        window_end=end,
        windows=len(verdicts),
        value=last.value if last else None,
        fired=bool(fired_windows),
        detail=detail,
    )


def _failed(rule: AlertRule, now: dt.datetime, start: dt.datetime, end: dt.datetime, error: str) -> RuleEvaluation:
    """A run that could not read the events: recorded, and the rule's state left as it was (the next run covers it)."""
    return RuleEvaluation.objects.create(
        rule=rule, evaluated_at=now, window_start=start, window_end=end, error=error[:1000]
    )


def rule_evaluate(*, rule_id: int, now: dt.datetime | None = None) -> RuleEvaluation | None:
    """Evaluate a rule if it is due at `now` (default: the clock); its recorded run, or None when not due or another
    worker ran it."""
    now = now or timezone.now()
    rule = AlertRule.objects.select_related("owner").filter(pk=rule_id, enabled=True).first()
    end = window_end(now)
    if rule is None or (rule.next_due_at is not None and rule.next_due_at > end):
        return None
    start, skipped = _span(rule, end)
    open_events = {event.key: event for event in rule.events.filter(state=AlertEvent.State.FIRING)}
    try:
        search, terms = rule_search(rule), rule_terms(rule)
        if rule.type == ANOMALY:
            verdicts = [anomaly_verdict(owner=rule.owner, query=rule.query, terms=terms, end=end)]
        else:
            verdicts = rule_verdicts(terms=terms, search=search, start=start, end=end, history=rule_history(rule))
        plan = outcomes(verdicts)
        documents = {key: _documents(rule, search, outcome) for key, outcome in plan.items() if key not in open_events}
    except ApplicationError as error:
        return _failed(rule, now, start, end, error.message)
    except (ApiError, TransportError) as error:
        logger.warning("alert rule %s: Elasticsearch unavailable (%s)", rule.pk, error)
        return _failed(rule, now, start, end, "Elasticsearch could not be reached; the next run covers this time.")
    channel_ids = list(rule.channels.values_list("pk", flat=True))
    with transaction.atomic():
        claimed = AlertRule.objects.filter(pk=rule.pk, enabled=True, last_window_end=rule.last_window_end).update(
            last_window_end=end,
            next_due_at=end + dt.timedelta(seconds=rule.every_seconds),
            last_evaluated_at=now,
        )
        if claimed != 1:
            return None
        evaluation = _record(rule, now, start, end, verdicts, skipped)
        for key, event in open_events.items():
            _still_open(rule, event, plan.get(key), start, end, channel_ids)
        for key, outcome in plan.items():
            if key not in open_events:
                _open(rule, outcome, documents[key], end, channel_ids)
    return evaluation


def rule_evaluations_prune(*, now: dt.datetime | None = None) -> int:
    """Delete runs older than ALERT_RULES_HISTORY_DAYS; how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.ALERT_RULES_HISTORY_DAYS)
    deleted, _ = RuleEvaluation.objects.filter(evaluated_at__lt=cutoff).delete()
    return deleted
