"""make bench-anomalies: the anomaly model (analytics/anomaly_model.py) on planted anomalies and on NAB.

1. Planted: the shared web_access_logs.ndjson counted per 30 minutes over its two months (a real daily pattern),
   with five anomalies planted in copies of that series: a spike, a dip, a level shift, a silent hour, and an
   error burst in its error rate (5xx share). Each is found or not at medium sensitivity; every alarm outside the
   planted windows is counted as false and listed, with the clean series' own alarms for comparison.
2. NAB (with `--nab PATH`, a checkout of github.com/numenta/NAB: `git clone https://github.com/numenta/NAB`):
   a handful of its real series scored against labels/combined_windows.json, side by side with a rolling
   3-sigma baseline. An alarm is the first bucket of a run of anomalous buckets; an alarm inside a labelled
   window is a hit, a window with no alarm a miss, an alarm outside every window a false alarm. As in NAB, the
   first 15 % of each series (its probationary period) raises no alarm. The model runs on the raw values.

Runs the model in this process on series read from the files (no server). Prints figures; asserts nothing.
"""

import argparse
import csv
import datetime as dt
import itertools
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.anomaly_model import Point, anomaly_runs, detect  # noqa: E402

WEB_LOGS = ROOT.parent / "shared" / "data" / "web_access_logs.ndjson"
STEP = dt.timedelta(minutes=30)
NAB_SERIES = (
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/nyc_taxi.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
    "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
    "realKnownCause/ec2_request_latency_system_failure.csv",
    "realTraffic/occupancy_6005.csv",
    "realTraffic/speed_7578.csv",
    "realAWSCloudwatch/elb_request_count_8c0756.csv",
    "realTweets/Twitter_volume_AAPL.csv",
)
PROBATION = 0.15
SIGMAS = 3.0


def _bucket(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + (moment - midnight) // step * step


def web_series() -> tuple[list[dt.datetime], list[float], list[int]]:
    """Requests and 5xx responses per 30 minutes, from the first day's midnight to the last event."""
    requests, errors = Counter(), Counter()
    with WEB_LOGS.open("rb") as source:
        for line in source:
            row = json.loads(line)
            moment = _bucket(dt.datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")), STEP)
            requests[moment] += 1
            errors[moment] += row["response"] >= 500
    start = min(requests).replace(hour=0, minute=0)
    times = [start + STEP * index for index in range((max(requests) - start) // STEP + 1)]
    return times, [float(requests[moment]) for moment in times], [errors[moment] for moment in times]


def _at(times: list[dt.datetime], day: int, hour: int, minute: int = 0) -> int:
    return times.index(times[0] + dt.timedelta(days=day, hours=hour, minutes=minute))


def planted(times: list[dt.datetime], counts: list[float], errors: list[int]) -> list[dict]:
    """Five anomalies, each in its own copy of the real series, with the window it occupies."""
    cases = []

    def case(name: str, first: int, last: int, values: list[float], series: str = "count") -> None:
        cases.append({"name": name, "first": first, "last": last, "values": values, "series": series})

    spike = list(counts)
    at = _at(times, 10, 15)
    spike[at] *= 4
    case("spike: 4x the requests of one half hour (day 11, 15:00)", at, at, spike)
    dip = list(counts)
    at = _at(times, 20, 10)
    for index in range(at, at + 4):
        dip[index] = round(dip[index] * 0.3)
    case("dip: 30 % of the requests for two hours (day 21, 10:00-12:00)", at, at + 3, dip)
    shift = list(counts)
    first, last = _at(times, 40, 0), _at(times, 43, 0) - 1
    for index in range(first, last + 1):
        shift[index] = round(shift[index] * 2)
    case("level shift: twice the requests for three days (days 41-43)", first, last + 24, shift)
    silent = list(counts)
    at = _at(times, 28, 12)
    silent[at] = silent[at + 1] = 0.0
    case("silent hour: no request at all (day 29, 12:00-13:00)", at, at + 1, silent)
    burst = list(errors)
    at = _at(times, 15, 14)
    burst[at] = round(counts[at] * 0.6)
    rates = [error / count if count else None for error, count in zip(burst, counts, strict=True)]
    case("error burst: 60 % of one half hour's requests answer 5xx (day 16, 14:00)", at, at, rates, "error_rate")
    return cases


def _alarms(points: list[Point]) -> list[tuple[int, int]]:
    return [(first, last) for first, last, _peak in anomaly_runs(points)]


def planted_report() -> None:
    times, counts, errors = web_series()
    print(f"Planted anomalies: {WEB_LOGS.name}, {len(times)} buckets of 30 minutes, medium sensitivity")
    clean_rates = [error / count if count else None for error, count in zip(errors, counts, strict=True)]
    started = time.perf_counter()
    clean = {
        "count": _alarms(detect(counts, start=times[0], step=STEP, noise="poisson").points),
        "error_rate": _alarms(
            detect(clean_rates, start=times[0], step=STEP, noise="binomial", support=[int(c) for c in counts]).points
        ),
    }
    print(f"  model time for both clean series: {time.perf_counter() - started:.2f} s")
    for series, runs in clean.items():
        listed = ", ".join(f"{times[first]:%d %b %H:%M}-{times[last] + STEP:%H:%M}" for first, last in runs)
        print(f"  clean {series} series: {len(runs)} alarms {listed}")
    found = 0
    for case in planted(times, counts, errors):
        if case["series"] == "count":
            fit = detect(case["values"], start=times[0], step=STEP, noise="poisson")
        else:
            fit = detect(case["values"], start=times[0], step=STEP, noise="binomial", support=[int(c) for c in counts])
        runs = _alarms(fit.points)
        hits = [run for run in runs if run[0] <= case["last"] and run[1] >= case["first"]]
        others = [run for run in runs if run not in hits and run not in clean[case["series"]]]
        peak = max(
            (fit.points[i] for first, last in hits for i in range(first, last + 1)), key=lambda p: p.score, default=None
        )
        found += bool(hits)
        verdict = f"found, score {peak.score:g}" if peak else "MISSED"
        print(f"  {case['name']}: {verdict}; new false alarms {len(others)}")
    print(f"  found {found} of 5")


def nab_points(path: Path) -> tuple[list[dt.datetime], list[float | None], dt.timedelta]:
    """A NAB series on a regular grid (its most common spacing); a missing timestamp is a missing value."""
    with path.open(newline="") as source:
        rows = [(dt.datetime.fromisoformat(row["timestamp"]), float(row["value"])) for row in csv.DictReader(source)]
    gaps = Counter(later[0] - earlier[0] for earlier, later in itertools.pairwise(rows))
    step = gaps.most_common(1)[0][0]
    by_bucket: dict[dt.datetime, list[float]] = {}
    for moment, value in rows:
        by_bucket.setdefault(_bucket(moment, step), []).append(value)
    start, end = min(by_bucket), max(by_bucket)
    times = [start + step * index for index in range((end - start) // step + 1)]
    values = [statistics.fmean(by_bucket[moment]) if moment in by_bucket else None for moment in times]
    return times, values, step


def rolling_sigma_alarms(values: list[float | None], window: int) -> list[tuple[int, int]]:
    """The baseline: a value more than 3 standard deviations from the mean of the `window` values before it."""
    flags = []
    for index, value in enumerate(values):
        history = [item for item in values[max(0, index - window) : index] if item is not None]
        if value is None or len(history) < 2:
            flags.append(False)
            continue
        mean, deviation = statistics.fmean(history), statistics.pstdev(history)
        flags.append(abs(value - mean) > SIGMAS * deviation if deviation else value != mean)
    runs, index = [], 0
    while index < len(flags):
        if flags[index]:
            first = index
            while index + 1 < len(flags) and flags[index + 1]:
                index += 1
            runs.append((first, index))
        index += 1
    return runs


def _score(runs: list[tuple[int, int]], times: list[dt.datetime], windows: list[list[dt.datetime]]) -> dict:
    probation = times[int(len(times) * PROBATION)]
    starts = [times[first] for first, _last in runs if times[first] >= probation]
    inside = [moment for moment in starts if any(low <= moment <= high for low, high in windows)]
    hit = [window for window in windows if any(window[0] <= moment <= window[1] for moment in starts)]
    return {
        "alarms": len(starts),
        "false": len(starts) - len(inside),
        "precision": len(inside) / len(starts) if starts else None,
        "recall": len(hit) / len(windows) if windows else None,
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def nab_report(root: Path, sensitivity: str) -> None:
    labels = json.loads((root / "labels" / "combined_windows.json").read_text())
    print(f"\nNAB ({root}), sensitivity {sensitivity} vs rolling 3-sigma (window: one day of buckets)")
    print(
        "| series | points | windows | ours: alarms, false, precision, recall "
        "| 3-sigma: alarms, false, precision, recall |"
    )
    print("|---|---:|---:|---|---|")
    for name in NAB_SERIES:
        times, values, step = nab_points(root / "data" / name)
        windows = [[dt.datetime.fromisoformat(moment) for moment in window] for window in labels[name]]
        ours = _score(
            _alarms(detect(values, start=times[0], step=step, sensitivity=sensitivity).points), times, windows
        )
        day = max(2, dt.timedelta(days=1) // step)
        baseline = _score(rolling_sigma_alarms(values, day), times, windows)
        cells = [
            f"{row['alarms']}, {row['false']}, {_percent(row['precision'])}, {_percent(row['recall'])}"
            for row in (ours, baseline)
        ]
        print(
            f"| {name.split('/')[1].removesuffix('.csv')} | {len(times):,} | {len(windows)} | {cells[0]} | {cells[1]} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nab", type=Path, help="path to a checkout of github.com/numenta/NAB")
    parser.add_argument("--sensitivity", default="medium", choices=("low", "medium", "high"))
    options = parser.parse_args()
    planted_report()
    if options.nab:
        nab_report(options.nab, options.sensitivity)


if __name__ == "__main__":
    main()
