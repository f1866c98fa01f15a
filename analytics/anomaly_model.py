"""The anomaly model: a robust seasonal baseline for one series of time buckets, and how far each bucket strays.

Pure Python over a list of bucket values, fitted afresh on every call (no training step, nothing stored):

- **Season.** Each bucket belongs to a slot: its time of day, or its hour of the week when the series covers at
  least three weeks and the weekly slots explain the data clearly better (a tenth less typical error). The
  seasonal part of a slot is the median, over every day (or week) of the series, of its values minus the level.
- **Level.** The level at a bucket is the median of the de-seasonalised values of the day before it (trailing,
  the bucket itself excluded). A spike, a dip or a silent hour is a few buckets of that day: a median ignores
  them, so anomalies do not teach the baseline. A lasting level shift is flagged for its first half day, then
  becomes the new level; a trend moves the level with it. Two passes refine the season and the level.
- **Spread.** The typical error of a slot is the median absolute deviation (MAD) of the residuals of that time of
  day and its two neighbours, at least half the series' overall MAD, and for counts at least the square root of
  the expected count (Poisson noise). A count's z-score is then capped at the one of its exact Poisson tail: for
  a few events a normal curve overstates how unlikely 15 is when 5 are expected.
- **Shares** (the error rate: k errors among n events in a bucket) are judged differently, because a median of
  small shares is 0 and a normal curve is wrong for a few events: the expected share is the pooled share of the
  week before (errors / events; a burst of an hour barely moves a week), and how unlikely k is comes from the
  exact binomial tail, turned into the z-score with the same tail probability.
- **Score.** z = (value - expected) / spread is mapped to 0-100 as Elastic's scores are: from how unlikely it is,
  score = 12.5 x -log10(two-sided normal tail probability of z), capped at 100; so z = 2 scores 17, z = 3
  scores 32, z = 4 scores 52, z = 5 scores 78, z = 5.73 and beyond score 100. A run of two to four buckets that
  are each at least 1.5 spreads off in the same direction is also scored as one (their z-scores summed, over the
  square root of their number), so a silent hour of two half-hour buckets counts as the hour it is.
- **Sensitivity** is the score a bucket needs to be an anomaly: low 75, medium 50, high 25. The band (low, high)
  is where a single bucket scores under that: expected +/- z(score) x spread.
- **Warm-up.** The first level window (a day of buckets, for a seasonal series) only teaches the level: its
  buckets are scored but raise no alarm, as NAB's probationary period.
- **Short series.** Under three days there is no daily pattern to learn: the baseline is the level alone and the
  band is 1.5 times wider, and the answer says so.
"""

import bisect
import datetime as dt
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

SENSITIVITY_SCORES = {"low": 75.0, "medium": 50.0, "high": 25.0}
SCORE_PER_DECADE = 12.5
MAD_TO_SIGMA = 1.4826
MIN_POINTS = 8
DAILY_SEASON_DAYS = 3
WEEKLY_SEASON_DAYS = 21
WEEKLY_GAIN = 0.9  # weekly slots are kept when their typical error is at most 90 % of the daily slots'
TREND_ONLY_WIDENING = 1.5
TREND_WINDOWS = 7
RUN_LENGTHS = (2, 3, 4)
RUN_MEMBER_Z = 1.5
# A share is expected to be at least 0.5 %: one error among ten requests in a series that never had one is not
# an anomaly on its own.
MIN_SHARE = 0.005
SHARE_WINDOW_DAYS = 7
MIN_TAIL = 1e-300
NOISE_MODELS = ("poisson", "binomial", "spread")
DAY = dt.timedelta(days=1)

SEASON_WEEKLY, SEASON_DAILY, SEASON_NONE = "hour of week", "hour of day", "none"
SEASON_POOLED = "pooled share of the week before"


@dataclass(frozen=True)
class Point:
    value: float | None
    expected: float
    low: float
    high: float
    score: float
    anomaly: bool
    z: float


@dataclass(frozen=True)
class Fit:
    points: list[Point]
    season: str
    note: str | None


def score_of(z: float) -> float:
    """0-100 from a z-score: 12.5 per decade of improbability (two-sided normal tail), capped at 100."""
    tail = math.erfc(abs(z) / math.sqrt(2))
    if tail <= 0:
        return 100.0
    return min(100.0, SCORE_PER_DECADE * -math.log10(tail))


def z_for_score(score: float) -> float:
    """The z-score that scores `score` (bisection on the monotonic mapping above)."""
    low, high = 0.0, 40.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if score_of(middle) < score else (low, middle)
    return high


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _mad(values: list[float]) -> float:
    if not values:
        return 0.0
    centre = statistics.median(values)
    return MAD_TO_SIGMA * statistics.median(abs(value - centre) for value in values)


def _trailing_median(values: Sequence[float | None], window: int) -> list[float]:
    """Median of the present values among the `window` before each bucket; the first window uses its own values."""
    present = [value for value in values if value is not None]
    warm_up = _median(present[:window])
    ordered: list[float] = []
    levels = []
    for index, value in enumerate(values):
        levels.append(_median(ordered) if len(ordered) >= max(1, window // 2) else warm_up)
        if value is not None:
            bisect.insort(ordered, value)
        leaving = index - window
        if leaving >= 0 and values[leaving] is not None:
            ordered.pop(bisect.bisect_left(ordered, values[leaving]))
    return levels


def _profile(residuals: Sequence[float | None], slots: list[int], count: int) -> list[float]:
    """The median residual of each seasonal slot (0 for a slot never seen)."""
    by_slot: list[list[float]] = [[] for _ in range(count)]
    for residual, slot in zip(residuals, slots, strict=True):
        if residual is not None:
            by_slot[slot].append(residual)
    return [_median(values) for values in by_slot]


def _minus(values: Sequence[float | None], other: Sequence[float]) -> list[float | None]:
    return [None if value is None else value - part for value, part in zip(values, other, strict=True)]


def _decompose(values: Sequence[float | None], slots: list[int] | None, count: int, window: int) -> list[float]:
    """Expected values: level (trailing median) plus seasonal profile, refined twice."""
    if slots is None:
        return _with_trend(_trailing_median(values, window), window)
    level = _trailing_median(values, window)
    for _ in range(2):
        profile = _profile(_minus(values, level), slots, count)
        seasonal = [profile[slot] for slot in slots]
        level = _trailing_median(_minus(values, seasonal), window)
    level = _with_trend(level, window)
    return [part + season for part, season in zip(level, seasonal, strict=True)]


def _with_trend(level: list[float], window: int) -> list[float]:
    """Move a trailing level (centred half a window back) to the bucket itself, along the recent trend.

    The trend is the median of the last TREND_WINDOWS window-to-window changes: one level shift among them does
    not make a trend, a steady growth does.
    """
    moved = []
    for index, value in enumerate(level):
        changes = [
            (level[index - (back - 1) * window] - level[index - back * window]) / window
            for back in range(1, TREND_WINDOWS + 1)
            if index - back * window >= 0
        ]
        moved.append(value + _median(changes) * (window + 1) / 2 if len(changes) >= 3 else value)
    return moved


def _typical_error(values: Sequence[float | None], expected: list[float]) -> float:
    return _median([abs(value - guess) for value, guess in zip(values, expected, strict=True) if value is not None])


def _slot_spreads(residuals: list[float | None], day_slots: list[int], per_day: int) -> list[float]:
    """MAD of the residuals at each time of day, pooled with the slots on either side."""
    by_slot: list[list[float]] = [[] for _ in range(per_day)]
    for residual, slot in zip(residuals, day_slots, strict=True):
        if residual is not None:
            by_slot[slot].append(residual)
    return [
        _mad(by_slot[(slot - 1) % per_day] + by_slot[slot] + by_slot[(slot + 1) % per_day]) for slot in range(per_day)
    ]


def _counting_noise(noise: str, expected: float) -> float:
    return math.sqrt(max(expected, 1.0)) if noise == "poisson" else 0.0


def _run_scores(zs: list[float | None], scores: list[float]) -> list[float]:
    """Raise each bucket's score to that of a run of 2-3 buckets it belongs to, all off the same way."""
    raised = list(scores)
    for length in RUN_LENGTHS:
        for start in range(len(zs) - length + 1):
            members = zs[start : start + length]
            if any(z is None or abs(z) < RUN_MEMBER_Z for z in members):
                continue
            if len({z > 0 for z in members}) != 1:
                continue
            combined = score_of(sum(members) / math.sqrt(length))
            for index in range(start, start + length):
                raised[index] = max(raised[index], combined)
    return raised


def _season(step: dt.timedelta, size: int) -> tuple[str, int]:
    """Which seasonal slots the series can learn: buckets per day, and whether whole days fit in it."""
    span = step * size
    per_day = DAY // step if step <= dt.timedelta(hours=6) and DAY % step == dt.timedelta(0) else 0
    if not per_day or span < DAY * DAILY_SEASON_DAYS:
        return SEASON_NONE, per_day
    return (SEASON_WEEKLY if span >= DAY * WEEKLY_SEASON_DAYS else SEASON_DAILY), per_day


def _day_slot(moment: dt.datetime, step: dt.timedelta) -> int:
    since_midnight = moment - moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return since_midnight // step


def _short_note(step: dt.timedelta, size: int) -> str:
    days = step * size / DAY
    return (
        f"needs at least {DAILY_SEASON_DAYS} days of data to learn the daily pattern (these buckets cover "
        f"{days:.1f} days): the baseline follows the level only, with a band {TREND_ONLY_WIDENING:g} times wider"
    )


def detect(
    values: Sequence[float | None],
    *,
    start: dt.datetime,
    step: dt.timedelta,
    sensitivity: str = "medium",
    noise: str = "spread",
    support: Sequence[int] | None = None,
) -> Fit:
    """Fit the baseline to `values` (None: no value in that bucket) and score every bucket.

    `start` is the first bucket's start (UTC) and `step` the bucket length. `noise` says what counting noise
    the values carry at least: "poisson" for counts, "binomial" for a share of `support[i]` events, "spread"
    for anything else (sums, averages, maxima).
    """
    if sensitivity not in SENSITIVITY_SCORES:
        raise ValueError(f"sensitivity: one of {', '.join(SENSITIVITY_SCORES)}")
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise: one of {', '.join(NOISE_MODELS)}")
    size = len(values)
    present = [value for value in values if value is not None]
    if noise == "binomial" and len(present) >= MIN_POINTS:
        if support is None or len(support) != size:
            raise ValueError("a share needs the number of events of each bucket (support)")
        return _shares_scored(values, support, step, sensitivity)
    if len(present) < MIN_POINTS:
        centre = _median(present)
        points = [Point(value, centre, centre, centre, 0.0, False, 0.0) for value in values]
        return Fit(points, SEASON_NONE, f"needs at least {MIN_POINTS} buckets with a value to learn anything")
    season, per_day = _season(step, size)
    times = [start + step * index for index in range(size)]
    day_slots = [_day_slot(moment, step) for moment in times] if per_day else [0] * size
    window = per_day if season != SEASON_NONE else max(MIN_POINTS, min(size // 4, 48))
    # Non-negative series (traffic, revenue) vary by ratios: twice the traffic doubles the afternoon peak and the
    # night alike. Their level and season are learned on log(1 + value), so a level shift keeps the day's shape.
    logs = min(present) >= 0
    learned = [None if value is None else math.log1p(value) for value in values] if logs else list(values)

    def baseline(slots: list[int] | None, count: int) -> list[float]:
        fitted = _decompose(learned, slots, count, window)
        return [math.expm1(guess) for guess in fitted] if logs else fitted

    if season == SEASON_NONE:
        expected = baseline(None, 0)
    else:
        expected = baseline(day_slots, per_day)
        if season == SEASON_WEEKLY:
            week_slots = [moment.weekday() * per_day + slot for moment, slot in zip(times, day_slots, strict=True)]
            weekly = baseline(week_slots, 7 * per_day)
            if _typical_error(values, weekly) <= WEEKLY_GAIN * _typical_error(values, expected):
                expected = weekly
            else:
                season = SEASON_DAILY
    if min(present) >= 0:
        expected = [max(0.0, guess) for guess in expected]
    return _scored(values, expected, day_slots, per_day, season, sensitivity, noise, support, step, window)


def _scored(
    values: Sequence[float | None],
    expected: list[float],
    day_slots: list[int],
    per_day: int,
    season: str,
    sensitivity: str,
    noise: str,
    support: Sequence[int] | None,
    step: dt.timedelta,
    warm_up: int,
) -> Fit:
    residuals = _minus(values, expected)
    present = [residual for residual in residuals if residual is not None]
    overall = _mad(present)
    typical = _median([abs(value) for value in values if value is not None])
    floor = max(0.5 * overall, 0.01 * typical, 1e-9)
    spreads = _slot_spreads(residuals, day_slots, per_day) if season != SEASON_NONE else [overall]
    widening = TREND_ONLY_WIDENING if season == SEASON_NONE else 1.0
    nonnegative = all(value >= 0 for value in values if value is not None)
    threshold = SENSITIVITY_SCORES[sensitivity]
    reach = z_for_score(threshold)
    scales, zs = [], []
    for index, residual in enumerate(residuals):
        slot_spread = spreads[day_slots[index]] if season != SEASON_NONE else spreads[0]
        scale = widening * max(slot_spread, floor, _counting_noise(noise, expected[index]))
        scales.append(scale)
        z = None if residual is None else residual / scale
        if noise == "poisson" and z is not None and abs(z) >= RUN_MEMBER_Z:
            z = _poisson_capped(z, values[index], expected[index])
        zs.append(z)
    scores = _run_scores(zs, [0.0 if z is None else score_of(z) for z in zs])
    points = []
    for index, value in enumerate(values):
        low = expected[index] - reach * scales[index]
        points.append(
            Point(
                value=value,
                expected=expected[index],
                low=max(0.0, low) if nonnegative else low,
                high=expected[index] + reach * scales[index],
                score=round(scores[index], 1) if value is not None else 0.0,
                anomaly=value is not None and scores[index] >= threshold and index >= warm_up,
                z=zs[index] or 0.0,
            )
        )
    note = _short_note(step, len(values)) if season == SEASON_NONE else None
    return Fit(points, season, note)


def _binomial_tail(errors: int, events: int, share: float) -> float:
    """Two-sided: twice the probability of `errors` or further from the mean, X ~ Binomial(events, share)."""
    upper = errors > events * share
    log_share, log_rest = math.log(share), math.log1p(-share)
    log_ways = math.lgamma(events + 1)
    total = 0.0
    for count in range(errors, events + 1) if upper else range(errors, -1, -1):
        term = math.exp(
            log_ways
            - math.lgamma(count + 1)
            - math.lgamma(events - count + 1)
            + count * log_share
            + (events - count) * log_rest
        )
        total += term
        beyond_mean = count > events * share if upper else count < events * share
        # `<=`: a tail below the smallest float is all 0.0 terms, and a strict `<` would never stop.
        if beyond_mean and term <= total * 1e-12:
            break
    return min(1.0, 2 * total)


def _poisson_tail(count: int, mean: float) -> float:
    """Two-sided: twice the probability of `count` or further from the mean, X ~ Poisson(mean)."""
    upper = count > mean
    log_mean = math.log(mean)
    total = 0.0
    for value in itertools.count(count) if upper else range(count, -1, -1):
        term = math.exp(value * log_mean - mean - math.lgamma(value + 1))
        total += term
        beyond_mean = value > mean if upper else value < mean
        if beyond_mean and term <= total * 1e-12:
            break
    return min(1.0, 2 * total)


def _poisson_capped(z: float, value: float, mean: float) -> float:
    """A count is never more surprising than the exact Poisson tail says (a normal curve overstates small counts)."""
    exact = _z_of_tail(_poisson_tail(round(value), max(mean, 1.0)), z > 0)
    return z if abs(z) <= abs(exact) else exact


def _z_of_tail(tail: float, above: bool) -> float:
    if tail >= 1.0:
        return 0.0
    z = -statistics.NormalDist().inv_cdf(max(tail / 2, MIN_TAIL))
    return z if above else -z


def _pooled_shares(errors: list[int], events: Sequence[int], window: int) -> list[float]:
    """Errors / events over the `window` buckets before each one (the first window's own share to start)."""
    warm_up = sum(errors[:window]) / max(1, sum(events[:window]))
    shares, error_sum, event_sum = [], 0, 0
    for index in range(len(events)):
        share = error_sum / event_sum if event_sum >= 2 * MIN_POINTS else warm_up
        shares.append(min(max(share, MIN_SHARE), 1 - MIN_SHARE))
        error_sum, event_sum = error_sum + errors[index], event_sum + events[index]
        if index >= window:
            error_sum, event_sum = error_sum - errors[index - window], event_sum - events[index - window]
    return shares


def _shares_scored(values: Sequence[float | None], support: Sequence[int], step: dt.timedelta, sensitivity: str) -> Fit:
    """Shares (k of n events) against the pooled share of the week before, scored by the binomial tail."""
    errors = [0 if value is None else round(value * events) for value, events in zip(values, support, strict=True)]
    window = max(MIN_POINTS, (DAY * SHARE_WINDOW_DAYS) // step)
    expected = _pooled_shares(errors, support, window)
    threshold = SENSITIVITY_SCORES[sensitivity]
    reach = z_for_score(threshold)
    zs: list[float | None] = []
    for value, count, events, share in zip(values, errors, support, expected, strict=True):
        zs.append(
            None if value is None or not events else _z_of_tail(_binomial_tail(count, events, share), value > share)
        )
    scores = _run_scores(zs, [0.0 if z is None else score_of(z) for z in zs])
    points = []
    for index, value in enumerate(values):
        share = expected[index]
        spread = reach * math.sqrt(share * (1 - share) / max(1, support[index]))
        points.append(
            Point(
                value=value,
                expected=share,
                low=max(0.0, share - spread),
                high=min(1.0, share + spread),
                score=round(scores[index], 1) if zs[index] is not None else 0.0,
                anomaly=zs[index] is not None and scores[index] >= threshold,
                z=zs[index] or 0.0,
            )
        )
    return Fit(points, SEASON_POOLED, None)


def anomaly_runs(points: Sequence[Point]) -> list[tuple[int, int, int]]:
    """Consecutive anomalous buckets as (first, last, peak) indices; the peak has the highest score."""
    runs: list[tuple[int, int, int]] = []
    index = 0
    while index < len(points):
        if not points[index].anomaly:
            index += 1
            continue
        first = index
        while index + 1 < len(points) and points[index + 1].anomaly:
            index += 1
        peak = max(range(first, index + 1), key=lambda at: (points[at].score, abs(points[at].z)))
        runs.append((first, index, peak))
        index += 1
    return runs
