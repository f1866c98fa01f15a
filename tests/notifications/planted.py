"""Planted events for the alert rule tests: real rows of the shared files, moved to times of the last hours.

The shared files' event times are years old, and a rule judges windows of recent event time, so each row keeps
everything it says but its time. The timeline starts at `start` (a whole hour, nine hours ago) and holds:

- web access log (status 200, 404 and 503 rows of web_access_logs.ndjson):
  - a 200 every 2 minutes, except a silent hour from +2h to +3h (flatline);
  - a 404 at 7 and 37 minutes past each hour from varied IPs, and a burst of 12 404s from one IP within 30 s
    just after +1h (frequency, per IP);
  - a 503 at 10 and 40 minutes past each hour, and 25 more within one minute at +4h30m (spike);
- orders (ecommerce_orders.ndjson, from the four commonest countries in turn): 10 an hour, but only the cheapest one in
  the hour from +3h (metric: revenue below a floor), and in the hour from +5h one order from a country no other
  order comes from (new term).
"""

import datetime as dt
from dataclasses import dataclass, field

import orjson

from tests.datafiles import ECOMMERCE_ORDERS, WEB_ACCESS_LOGS

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
HOURS = 9
BURST = 12
SPIKE = 25
COMMON_COUNTRIES = ("US", "AE", "GB", "EG")
NEW_COUNTRY = "CO"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rows(path, limit: int) -> list[dict]:
    with path.open("rb") as source:
        return [orjson.loads(line) for _, line in zip(range(limit), source, strict=False)]


@dataclass
class Timeline:
    start: dt.datetime
    burst_ip: str = ""
    cheapest: float = 0.0
    web: list[bytes] = field(default_factory=list)
    orders: list[bytes] = field(default_factory=list)

    def at(self, offset: dt.timedelta) -> dt.datetime:
        return self.start + offset


def _web_row(row: dict, moment: dt.datetime, ip: str | None = None) -> bytes:
    """The access log row at `moment` (its three time fields and the time in its message), from `ip` if given."""
    old = row["timestamp"]
    moved = {**row, "timestamp": _iso(moment), "utc_time": _iso(moment)}
    moved["message"] = row["message"].replace(old, _iso(moment))
    if ip:
        moved["message"] = moved["message"].replace(row["ip"], ip, 1)
        moved["ip"] = moved["clientip"] = ip
    return orjson.dumps(moved) + b"\n"


def _order_row(row: dict, moment: dt.datetime) -> bytes:
    moved = {**row, "order_date": moment.isoformat()}
    moved["products"] = [{**product, "created_on": moment.isoformat()} for product in row["products"]]
    return orjson.dumps(moved) + b"\n"


def _by_status(rows: list[dict]) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["response"], []).append(row)
    return grouped


def _web(timeline: Timeline) -> None:
    rows = _by_status(_rows(WEB_ACCESS_LOGS, 3000))
    ok, missing, unavailable = rows[200], rows[404], rows[503]
    timeline.burst_ip = missing[0]["ip"]
    lines = []
    for number in range(HOURS * 30):
        offset = number * 2 * MINUTE
        if not 2 * HOUR <= offset < 3 * HOUR:
            lines.append(_web_row(ok[number % len(ok)], timeline.at(offset)))
    for hour in range(HOURS):
        for number, minute in enumerate((7, 37)):
            lines.append(_web_row(missing[1 + (2 * hour + number) % 50], timeline.at(hour * HOUR + minute * MINUTE)))
        for number, minute in enumerate((10, 40)):
            row = unavailable[(2 * hour + number) % len(unavailable)]
            lines.append(_web_row(row, timeline.at(hour * HOUR + minute * MINUTE)))
    for number in range(BURST):
        moment = timeline.at(HOUR + (10 + 2 * number) * dt.timedelta(seconds=1))
        lines.append(_web_row(missing[60 + number], moment, ip=timeline.burst_ip))
    for number in range(SPIKE):
        moment = timeline.at(4 * HOUR + 30 * MINUTE + 2 * number * dt.timedelta(seconds=1))
        lines.append(_web_row(unavailable[50 + number], moment))
    timeline.web = lines


def _orders(timeline: Timeline) -> None:
    rows = _rows(ECOMMERCE_ORDERS, 400)
    # In turn from each common country, so every hour of ten orders holds all four.
    by_country = [[row for row in rows if row["geoip"]["country_iso_code"] == code] for code in COMMON_COUNTRIES]
    common = [row for group in zip(*by_country, strict=False) for row in group]
    cheapest = min(common, key=lambda row: row["taxful_total_price"])
    newcomer = next(row for row in rows if row["geoip"]["country_iso_code"] == NEW_COUNTRY)
    timeline.cheapest = cheapest["taxful_total_price"]
    lines = []
    for hour in range(HOURS):
        if hour == 3:
            lines.append(_order_row(cheapest, timeline.at(hour * HOUR + 20 * MINUTE)))
            continue
        for number in range(10):
            row = common[(10 * hour + number) % len(common)]
            lines.append(_order_row(row, timeline.at(hour * HOUR + (3 + 6 * number) * MINUTE)))
    lines.append(_order_row(newcomer, timeline.at(5 * HOUR + 25 * MINUTE)))
    timeline.orders = lines


def timeline_now() -> Timeline:
    """The planted rows, starting at the whole hour nine hours before now (so all of them are in the past)."""
    now = dt.datetime.now(dt.UTC)
    timeline = Timeline(start=now.replace(minute=0, second=0, microsecond=0) - HOURS * HOUR)
    _web(timeline)
    _orders(timeline)
    return timeline
