"""Fourteen days of real web access rows at a daily pattern, with a spike, a dip, a silent hour and an error burst.

The rows are the shared web_access_logs.ndjson in turn, each given a new time: per hour, a number of requests
that follows the day (quiet at night, busy in the afternoon) with Poisson noise, from a fixed seed.
"""

import datetime as dt
import json
import math
import random

from tests.datafiles import WEB_ACCESS_LOGS

START = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)  # a Monday
DAYS = 14
HOUR = dt.timedelta(hours=1)
# The planted anomalies, each one hour (the series' natural spacing for this much data is an hour).
SPIKE = START + dt.timedelta(days=9, hours=14)
DIP = START + dt.timedelta(days=11, hours=10)
SILENT = START + dt.timedelta(days=12, hours=15)
ERROR_BURST = START + dt.timedelta(days=10, hours=20)
# Days 3 to 8 carry nothing planted: a detector that flags them raises false alarms.
CLEAN = (START + dt.timedelta(days=3), START + dt.timedelta(days=9))
SPIKE_FACTOR = 4
DIP_FACTOR = 0.2
BURST_SHARE = 0.5


def hourly_mean(hour: int) -> float:
    """Requests expected in an hour of the day: 6 at night, about 45 mid-afternoon."""
    return 6 + 39 * max(0.0, math.sin(math.pi * (hour - 6) / 16))


def _rows() -> list[dict]:
    with WEB_ACCESS_LOGS.open("rb") as source:
        return [json.loads(line) for line in source]


def planted_web_logs() -> bytes:
    """The NDJSON file: about 7,000 requests over 14 days."""
    rows, pick = _rows(), random.Random(17)
    # The spike comes from one client (its extra requests are one address's), so it has a driver to name.
    spiker = next(row for row in rows if row["geo"]["src"] == "US")
    lines, index = [], 0
    for hour_number in range(DAYS * 24):
        start = START + HOUR * hour_number
        count = _poisson(pick, hourly_mean(start.hour))
        if start == DIP:
            count = round(count * DIP_FACTOR)
        if start == SILENT:
            count = 0
        extra = count * (SPIKE_FACTOR - 1) if start == SPIKE else 0
        for number in range(count + extra):
            row = dict(rows[index % len(rows)] if number < count else spiker)
            index += 1
            moment = start + dt.timedelta(seconds=pick.randrange(3600))
            row["timestamp"] = row["utc_time"] = moment.isoformat().replace("+00:00", "Z")
            if start == ERROR_BURST and number % 2 == 0:
                row["response"] = 503
            lines.append(json.dumps(row))
    return ("\n".join(lines) + "\n").encode()


def _poisson(pick: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of an hour's requests."""
    limit, count, product = math.exp(-mean), 0, pick.random()
    while product > limit:
        count += 1
        product *= pick.random()
    return count
