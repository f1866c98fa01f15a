"""Judging a rule's windows: which windows meet its condition, for which values, and what that means per value.

Pure functions over the figures `analytics.rules_queries` reads; the evaluation, the catch-up and the preview all
judge the same way.
"""

import datetime as dt
import itertools
from dataclasses import dataclass, field

from analytics.rules_queries import WindowFigures

FREQUENCY, FLATLINE, SPIKE, NEW_TERM, METRIC = "frequency", "flatline", "spike", "new_term", "metric"
ANOMALY = "anomaly"


@dataclass(frozen=True)
class Terms:
    """What a rule asks, in plain values (a saved rule, or the form's settings before saving)."""

    type: str
    window: dt.timedelta
    threshold: float | None = None
    field: str = ""
    metric: str = ""
    direction: str = ""
    ratio: float | None = None
    series: str = ""
    sensitivity: str = ""


@dataclass(frozen=True)
class Breach:
    """The condition met in one window, for one value of the field ("" when the rule counts all matches)."""

    key: str
    value: float
    start: dt.datetime
    end: dt.datetime
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """One window judged: its value and what fired in it."""

    start: dt.datetime
    end: dt.datetime
    value: float | None
    breaches: tuple[Breach, ...] = ()
    detail: dict = field(default_factory=dict)

    @property
    def fired(self) -> bool:
        return bool(self.breaches)


def _one(window: WindowFigures, value: float | None, met: bool, detail: dict | None = None) -> Verdict:
    breaches = (Breach("", value, window.start, window.end, detail or {}),) if met and value is not None else ()
    return Verdict(window.start, window.end, value, breaches, detail or {})


def _frequency(terms: Terms, window: WindowFigures) -> Verdict:
    if not terms.field:
        return _one(window, window.count, window.count >= terms.threshold)
    over = {key: count for key, count in window.values.items() if count >= terms.threshold}
    breaches = tuple(Breach(key, count, window.start, window.end) for key, count in over.items())
    busiest = max(window.values.values(), default=0)
    return Verdict(window.start, window.end, busiest, breaches, {"values": over} if over else {})


def _spike(terms: Terms, previous: WindowFigures, window: WindowFigures) -> Verdict:
    """Up: at least `ratio` times the window before, and at least `threshold` events now (from none counts).
    Down: at most 1/`ratio` of the window before, which held at least `threshold`."""
    before, now = previous.count, window.count
    up = terms.direction in ("up", "both") and now >= terms.threshold and now >= terms.ratio * before
    down = terms.direction in ("down", "both") and before >= terms.threshold and now * terms.ratio <= before
    detail = {"previous": before, "factor": round(now / before, 2) if before else None}
    return _one(window, now, up or down, detail)


def _metric(terms: Terms, window: WindowFigures) -> Verdict:
    value = window.metric
    if value is None:  # no event with the field in the window: nothing to measure
        return Verdict(window.start, window.end, None)
    met = value < terms.threshold if terms.direction == "below" else value >= terms.threshold
    return _one(window, round(value, 4), met)


def judge_windows(terms: Terms, windows: list[WindowFigures]) -> list[Verdict]:
    """Each window judged, oldest first. A spike's first window is only the reference for the second."""
    if terms.type == SPIKE:
        return [_spike(terms, previous, window) for previous, window in itertools.pairwise(windows)]
    if terms.type == FLATLINE:
        return [_one(window, window.count, window.count < terms.threshold) for window in windows]
    if terms.type == METRIC:
        return [_metric(terms, window) for window in windows]
    return [_frequency(terms, window) for window in windows]


def judge_new_terms(
    windows: list[tuple[dt.datetime, dt.datetime]],
    first_seen: dict[str, tuple[dt.datetime, int]],
    seen_before: set[str],
) -> list[Verdict]:
    """Each window with the values first seen in it that were not seen before the span (value: how many there are).

    A new value's breach carries the events holding it since it appeared, and when it first did.
    """
    new = {key: seen for key, seen in first_seen.items() if key not in seen_before}
    verdicts = []
    for start, end in windows:
        breaches = tuple(
            Breach(key, count, start, end, {"first_seen": at.isoformat()})
            for key, (at, count) in sorted(new.items(), key=lambda item: item[1][0])
            if start <= at < end
        )
        verdicts.append(Verdict(start, end, len(breaches), breaches))
    return verdicts


@dataclass(frozen=True)
class Outcome:
    """What a span of windows says about one value: the first and last windows it fired in, and if it still fires."""

    key: str
    first: Breach
    last: Breach
    firing_now: bool


def outcomes(verdicts: list[Verdict]) -> dict[str, Outcome]:
    """Per value that fired anywhere in the span: its first and last breach, and whether the last window fires."""
    firsts: dict[str, Breach] = {}
    lasts: dict[str, Breach] = {}
    for verdict in verdicts:
        for breach in verdict.breaches:
            firsts.setdefault(breach.key, breach)
            lasts[breach.key] = breach
    final = {breach.key for breach in verdicts[-1].breaches} if verdicts else set()
    return {key: Outcome(key, firsts[key], lasts[key], key in final) for key in firsts}


def episodes(verdicts: list[Verdict]) -> int:
    """How many alert events the windows make: a run of windows firing for one value is one event."""
    count, previous = 0, set()
    for verdict in verdicts:
        keys = {breach.key for breach in verdict.breaches}
        count += len(keys - previous)
        previous = keys
    return count
