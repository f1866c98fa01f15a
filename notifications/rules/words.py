"""The sentences of alert rules: what a rule watches, what fired, what resolved (pages, Slack and email)."""

import datetime as dt

from notifications.rules.durations import duration_text
from notifications.rules.judging import ANOMALY, FLATLINE, FREQUENCY, NEW_TERM, SPIKE, Terms

METRIC_WORDS = {"sum": "the sum", "avg": "the average", "max": "the maximum", "p95": "the 95th percentile"}


def number(value: float | None) -> str:
    """1234 -> "1,234", 0.5 -> "0.5", 1234.5678 -> "1,234.57"."""
    if value is None:
        return "nothing"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _events(count: float) -> str:
    return "1 matching event" if count == 1 else f"{number(count)} matching events"


def condition(terms: Terms, history: dt.timedelta | None = None) -> str:
    """What the rule fires on, e.g. "at least 50 matching events in 5m per value of ip"."""
    window = duration_text(int(terms.window.total_seconds()))
    if terms.type == FREQUENCY:
        per_value = f" with one value of {terms.field}" if terms.field else ""
        return f"at least {_events(terms.threshold)}{per_value} in {window}"
    if terms.type == FLATLINE:
        return f"fewer than {_events(terms.threshold)} in {window}"
    if terms.type == SPIKE:
        ways = {"up": f"{number(terms.ratio)} times more", "down": f"{number(terms.ratio)} times fewer"}
        way = ways.get(terms.direction, f"{number(terms.ratio)} times more or fewer")
        return f"{way} matching events in {window} than in the {window} before (at least {number(terms.threshold)})"
    if terms.type == NEW_TERM:
        before = duration_text(int(history.total_seconds())) if history else "days"
        return f"a value of {terms.field} not seen in the {before} before, within {window}"
    if terms.type == ANOMALY:
        bucket = f"a {window} bucket ({terms.sensitivity} sensitivity)"
        return f"the series {terms.series} outside its expected band for the hour and weekday in {bucket}"
    side = "below" if terms.direction == "below" else "at or above"
    return f"{METRIC_WORDS[terms.metric]} of {terms.field} over {window} {side} {number(terms.threshold)}"


def fired(name: str, terms: Terms, *, key: str, value: float | None, detail: dict) -> str:
    """One sentence for a firing event."""
    window = duration_text(int(terms.window.total_seconds()))
    if terms.type == FREQUENCY and key:
        what = f"{_events(value)} with {terms.field} {key} in {window} (at least {number(terms.threshold)})"
    elif terms.type == FREQUENCY:
        what = f"{_events(value)} in {window} (at least {number(terms.threshold)})"
    elif terms.type == FLATLINE:
        what = f"only {_events(value)} in {window} (fewer than {number(terms.threshold)})"
    elif terms.type == SPIKE:
        what = f"{_events(value)} in {window}, against {number(detail.get('previous'))} in the {window} before"
    elif terms.type == ANOMALY:
        what = detail.get("explanation") or f"the series {terms.series} was {number(value)}, outside its expected band"
    elif terms.type == NEW_TERM:
        what = f"{terms.field} {key} appeared ({_events(value)}), unseen before"
    else:
        what = f"{METRIC_WORDS[terms.metric]} of {terms.field} was {number(value)} in {window} ({condition(terms)})"
    return f'"{name}" fired: {what}.'


def resolved(name: str, terms: Terms, *, key: str) -> str:
    about = f" for {terms.field} {key}" if key and terms.type in (FREQUENCY, NEW_TERM) else ""
    return f'"{name}" resolved{about}: it no longer meets its condition ({condition(terms)}).'


def window_line(start: dt.datetime, end: dt.datetime) -> str:
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"Window: {start:%Y-%m-%d %H:%M} to {until} UTC (event time)."
