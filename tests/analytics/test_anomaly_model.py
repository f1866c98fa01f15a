"""The anomaly model on its own (pure functions): seasons, level shifts, trends, missing buckets, scores, intervals."""

import datetime as dt
import math
import random

import pytest

from analytics.anomalies import interval_for
from analytics.anomaly_model import anomaly_runs, detect, score_of, z_for_score

START = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
HALF_HOUR = dt.timedelta(minutes=30)
PER_DAY = 48


def daily_counts(days: int, seed: int = 3, growth: float = 0.0, doubled_from: int | None = None) -> list[float]:
    """Requests per half hour: a day's shape (quiet nights, busy afternoons) with Poisson-like noise."""
    pick = random.Random(seed)
    values = []
    for index in range(days * PER_DAY):
        hour = (index % PER_DAY) / 2
        mean = (20 + 100 * max(0.0, math.sin(math.pi * (hour - 6) / 16))) * (1 + growth * index / PER_DAY)
        mean *= 2 if doubled_from is not None and index >= doubled_from else 1
        values.append(float(max(0, round(pick.gauss(mean, math.sqrt(mean))))))
    return values


def found(values: list[float | None], **options) -> list[tuple[int, int]]:
    fit = detect(values, start=START, step=HALF_HOUR, **options)
    return [(first, last) for first, last, _peak in anomaly_runs(fit.points)]


def covers(runs: list[tuple[int, int]], index: int) -> bool:
    return any(first <= index <= last for first, last in runs)


def test_a_clean_seasonal_series_raises_no_alarm():
    assert found(daily_counts(10), noise="poisson") == []


def test_a_spike_a_dip_and_a_silent_hour_are_found_and_nothing_else():
    values = daily_counts(10)
    spike, dip, silent = 6 * PER_DAY + 30, 7 * PER_DAY + 22, 8 * PER_DAY + 28
    values[spike] *= 2
    values[dip] *= 0.4
    values[silent] = values[silent + 1] = 0

    runs = found(values, noise="poisson")

    assert covers(runs, spike) and covers(runs, dip) and covers(runs, silent)
    assert len(runs) == 3


def test_an_anomaly_does_not_teach_the_baseline():
    values = daily_counts(10)
    spike = 5 * PER_DAY + 30
    values[spike] *= 5

    fit = detect(values, start=START, step=HALF_HOUR, noise="poisson")
    clean = detect(daily_counts(10), start=START, step=HALF_HOUR, noise="poisson")

    next_day = spike + PER_DAY
    assert fit.points[next_day].expected == pytest.approx(clean.points[next_day].expected, rel=0.05)


def test_a_level_shift_is_flagged_when_it_starts_then_becomes_the_new_level():
    shift = 6 * PER_DAY
    values = daily_counts(12, doubled_from=shift)  # twice the traffic from day 7 on

    runs = found(values, noise="poisson")

    assert covers(runs, shift + 14)  # 07:00, the first busy hour after the shift
    assert not any(first >= shift + PER_DAY for first, _last in runs)


def test_a_steady_trend_moves_the_baseline_with_it():
    values = daily_counts(10, growth=0.05)  # 5 % more requests every day

    fit = detect(values, start=START, step=HALF_HOUR, noise="poisson")

    assert [point for point in fit.points if point.anomaly] == []
    assert fit.points[-PER_DAY + 30].expected > 1.3 * fit.points[PER_DAY + 30].expected


def test_missing_buckets_of_an_average_are_skipped_not_taken_for_zero():
    values: list[float | None] = [value / 10 for value in daily_counts(14)]
    for index in range(0, len(values), 7):
        values[index] = None
    jump = 9 * PER_DAY + 31
    values[jump] *= 3

    fit = detect(values, start=START, step=HALF_HOUR)

    alarms = anomaly_runs(fit.points)
    assert any(first <= jump <= last for first, last, _peak in alarms)
    assert len(alarms) <= 4  # the jump, and under one false alarm in four days of half hours
    assert fit.points[0].value is None and fit.points[0].score == 0 and not fit.points[0].anomaly


def test_an_error_burst_is_found_in_a_share_with_few_events():
    pick = random.Random(5)
    events = [int(value) for value in daily_counts(8)]
    errors = [sum(pick.random() < 0.03 for _ in range(count)) for count in events]
    burst = 6 * PER_DAY + 28
    errors[burst] = events[burst] // 2
    shares = [error / count if count else None for error, count in zip(errors, events, strict=True)]

    runs = found(shares, noise="binomial", support=events)

    assert runs == [(burst, burst)]


def test_a_short_series_learns_no_season_and_says_so():
    fit = detect(daily_counts(2), start=START, step=HALF_HOUR, noise="poisson")

    assert fit.season == "none"
    assert fit.note.startswith("needs at least 3 days of data to learn the daily pattern")


@pytest.mark.parametrize(("z", "score"), [(0, 0), (2, 17.0), (3, 32.0), (4, 52.0), (5, 78.0), (6, 100)])
def test_the_score_is_twelve_and_a_half_per_decade_of_improbability(z, score):
    assert score_of(z) == pytest.approx(score, abs=0.5)
    if 0 < score < 100:
        assert z_for_score(score_of(z)) == pytest.approx(z, abs=1e-6)


def test_sensitivity_is_the_score_a_bucket_needs():
    values = daily_counts(10)
    values[6 * PER_DAY + 30] *= 1.5

    counts = {level: len(found(values, noise="poisson", sensitivity=level)) for level in ("low", "medium", "high")}

    assert counts["low"] <= counts["medium"] <= counts["high"]
    assert counts["high"] >= 1


@pytest.mark.parametrize(
    ("span", "events", "interval"),
    [
        (dt.timedelta(days=61), 14_074, "1h"),  # the shared web access logs: 10 requests an hour
        (dt.timedelta(days=14), 7_500, "1h"),
        (dt.timedelta(days=14), 20_000, "30m"),
        (dt.timedelta(hours=6), 20_000, "1m"),
        (dt.timedelta(days=400), 1_000_000, "6h"),
    ],
)
def test_the_natural_interval_follows_the_span_and_the_density(span, events, interval):
    assert interval_for(span, events)[0] == interval


def test_a_burst_far_beyond_any_count_seen_gets_the_top_score_instead_of_stalling_the_fit():
    # Its exact Poisson tail is below the smallest float: every term of the sum is 0.0. The sum used to wait for a
    # term small beside a total that never grew, and the page that asked (the analytics timeline) never answered.
    values = daily_counts(3)
    burst = 2 * PER_DAY + 30
    values[burst] = 50_000.0

    fit = detect(values, start=START, step=HALF_HOUR, noise="poisson")

    assert fit.points[burst].anomaly
    assert fit.points[burst].score == 100
