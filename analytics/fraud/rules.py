"""The fraud rules: pure functions over a customer's, card's or IP's events in time order.

Each rule says which of an event's fields it needs; a data set without them is reported, not failed.
Rules never see a label field (the scan does not load one). Points and thresholds are defaults an
analyst can change in the Django admin (FraudRuleSetting); README "Fraud rules" says how they were chosen.
"""

import math
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Event:
    """What the rules read of one indexed event (built by the scan from the document)."""

    id: str
    time: datetime
    amount: float | None = None
    customer: str | None = None
    card: str | None = None
    ip: str | None = None
    located: tuple[float, float] | None = None  # only when GeoIP placed a public IP
    country: str | None = None
    billing_country: str | None = None
    category: str | None = None
    device: str | None = None
    declined: bool = False
    job_id: str | None = None


@dataclass(frozen=True)
class Baselines:
    """What "large" and "new" mean for this owner's data, measured over a trailing window."""

    amount_percentiles: dict[float, float] = field(default_factory=dict)  # 90.0 -> value
    categories: dict[str, tuple[float, float]] = field(default_factory=dict)  # category -> (median, scaled MAD)
    first_seen: dict[str, datetime] = field(default_factory=dict)  # customer -> first event time


@dataclass(frozen=True)
class Rule:
    key: str
    title: str
    description: str
    points: int
    params: dict
    needs: tuple[str, ...]  # Event fields; "a|b" means either one
    check: Callable[[list[Event], Baselines, dict], dict[str, str]] = field(repr=False)
    # A rule comparing two descriptive fields (IP country vs billing country) can fire on most events of
    # a data set for reasons of its own (a shop billing everyone at its home address); when it does, it
    # describes the data rather than an anomaly, and scores nothing for that scan.
    may_describe_data: bool = False

    def missing(self, present: set[str]) -> list[str]:
        """The needs this data lacks ("card or ip" for an either-or need)."""
        return [need.replace("|", " or ") for need in self.needs if not set(need.split("|")) & present]


class SlidingWindow:
    """Items of one key within `span` before (and including) the latest time added."""

    def __init__(self, span: timedelta) -> None:
        self.span = span
        self.items: deque = deque()

    def add(self, time: datetime, item: object) -> list:
        self.items.append((time, item))
        while self.items and self.items[0][0] <= time - self.span:
            self.items.popleft()
        return [entry for _time, entry in self.items]


def _money(value: float) -> str:
    return f"{value:,.2f}"


# The rules


def amount_above_percentile(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    limit = baselines.amount_percentiles.get(float(params["percentile"]))
    if limit is None:
        return {}
    return {
        event.id: f"amount {_money(event.amount)} > p{params['percentile']:g} {_money(limit)}"
        for event in events
        if event.amount is not None and event.amount > limit
    }


def category_outlier(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    hits = {}
    for event in events:
        median, scaled_mad = baselines.categories.get(event.category, (None, None))
        if event.amount is None or not scaled_mad:
            continue
        score = (event.amount - median) / scaled_mad
        if score > params["z"]:
            hits[event.id] = (
                f"amount {_money(event.amount)} is {score:.1f} robust deviations above {event.category}'s median"
            )
    return hits


def _first_events(events: list[Event], baselines: Baselines) -> set[str]:
    """Ids of the events that are their customer's very first."""
    firsts, seen = set(), set()
    for event in events:
        if event.customer and event.customer not in seen:
            seen.add(event.customer)
            if baselines.first_seen.get(event.customer) == event.time:
                firsts.add(event.id)
    return firsts


def new_customer(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    # The first event itself is judged by "first order, large amount"; a young account ordering
    # again and again (bust-out) is what this rule looks for.
    firsts, window = _first_events(events, baselines), timedelta(days=params["days"])
    hits = {}
    for event in events:
        first = baselines.first_seen.get(event.customer) if event.customer else None
        if first is not None and event.id not in firsts and event.time - first < window:
            hits[event.id] = f"customer first seen {(event.time - first).days} days before"
    return hits


def first_order_large(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    limit = baselines.amount_percentiles.get(float(params["percentile"]))
    if limit is None:
        return {}
    return {
        event.id: f"first event of this customer, amount {_money(event.amount)} > p{params['percentile']:g}"
        for event in events
        if event.id in _first_events(events, baselines) and event.amount is not None and event.amount > limit
    }


def velocity(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    # Payments and orders only: a visitor browsing many pages is not a velocity signal.
    span, limit = timedelta(hours=params["hours"]), params["max_events"]
    windows: dict[tuple, SlidingWindow] = defaultdict(lambda: SlidingWindow(span))
    hits = {}
    for event in (event for event in events if event.amount is not None):
        for kind in ("customer", "card", "ip"):
            value = getattr(event, kind)
            if value is None:
                continue
            count = len(windows[(kind, value)].add(event.time, event.id))
            if count > limit:
                hits[event.id] = f"{count} events of this {kind} within {params['hours']} h"
                break
    return hits


def card_testing(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    span = timedelta(minutes=params["minutes"])
    windows: dict[tuple, SlidingWindow] = defaultdict(lambda: SlidingWindow(span))
    hits = {}
    for event in events:
        small = event.amount is not None and 0 <= event.amount < params["small_amount"]
        if not (small or event.declined):
            continue
        for kind in ("card", "ip"):
            value = getattr(event, kind)
            if value is None:
                continue
            burst = windows[(kind, value)].add(event.time, event.id)
            if len(burst) >= params["count"]:
                for member in burst:
                    hits[member] = (
                        f"{len(burst)} small or declined payments from one {kind} within {params['minutes']} min"
                    )
    return hits


def shared_ip(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    crowded = crowded_windows(
        events,
        key=lambda e: e.ip,
        pair=lambda e: (e.card, e.customer),
        hours=params["hours"],
        limit=params["max_entities"],
    )
    return {
        event.id: f"{len(cards)} cards and {len(accounts)} accounts on this IP within {params['hours']} h"
        for event, cards, accounts in crowded
    }


def multi_device(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    crowded = crowded_windows(
        events,
        key=lambda e: e.customer,
        pair=lambda e: (e.device, e.ip),
        hours=params["hours"],
        limit=params["max_devices"],
    )
    return {
        event.id: f"{len(devices)} devices and {len(addresses)} IPs for this account within {params['hours']} h"
        for event, devices, addresses in crowded
    }


def crowded_windows(
    events: list[Event],
    *,
    key: Callable[[Event], str | None],
    pair: Callable[[Event], tuple[str | None, str | None]],
    hours: float,
    limit: int,
) -> Iterator[tuple[Event, set[str], set[str]]]:
    """Events after which their key has seen more than `limit` distinct values on either side of `pair`
    within `hours` (e.g. cards or accounts per IP), with the two sets of values."""
    windows: dict[str, SlidingWindow] = defaultdict(lambda: SlidingWindow(timedelta(hours=hours)))
    for event in events:
        group, (first, second) = key(event), pair(event)
        if group is None or (first is None and second is None):
            continue
        seen = windows[group].add(event.time, (first, second))
        firsts = {value for value, _ in seen if value is not None}
        seconds = {value for _, value in seen if value is not None}
        if len(firsts) > limit or len(seconds) > limit:
            yield event, firsts, seconds


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def impossible_travel(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    last: dict[str, Event] = {}
    hits = {}
    for event in events:
        if event.customer is None or event.located is None:
            continue
        previous = last.get(event.customer)
        last[event.customer] = event
        if previous is None:
            continue
        km = distance_km(previous.located, event.located)
        hours = (event.time - previous.time).total_seconds() / 3600
        # GeoIP places an address only roughly: a short hop is never travel.
        if km < params["min_km"]:
            continue
        speed = km / hours if hours > 0 else math.inf
        if speed > params["kmh"]:
            shown = "at the same moment" if hours <= 0 else f"in {hours * 60:.0f} min ({speed:,.0f} km/h)"
            hits[event.id] = f"{km:,.0f} km from the previous event {shown}"
    return hits


def country_mismatch(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    return {
        event.id: f"IP in {event.country}, billing country {event.billing_country}"
        for event in events
        if event.country and event.billing_country and event.country.upper() != event.billing_country.strip().upper()
    }


RULES: dict[str, Rule] = {
    rule.key: rule
    for rule in (
        Rule(
            "amount_p90",
            "Large amount",
            "Amount above the 90th percentile of the trailing year's amounts.",
            2,
            {"percentile": 90},
            ("amount",),
            amount_above_percentile,
        ),
        Rule(
            "amount_p95",
            "Very large amount",
            "Amount above the 95th percentile (adds to the 90th).",
            1,
            {"percentile": 95},
            ("amount",),
            amount_above_percentile,
        ),
        Rule(
            "category_outlier",
            "Unusual for its category",
            "Robust outlier within its category: (amount - median) / (1.4826 x MAD) above z.",
            1,
            {"z": 3.5},
            ("amount", "category"),
            category_outlier,
        ),
        Rule(
            "new_customer",
            "Young account ordering again",
            "A repeat event of a customer first seen less than N days before.",
            3,
            {"days": 14},
            ("customer",),
            new_customer,
        ),
        Rule(
            "first_order_large",
            "First order, large amount",
            "The customer's first event, with an amount above the 90th percentile.",
            3,
            {"percentile": 90},
            ("customer", "amount"),
            first_order_large,
        ),
        Rule(
            "velocity",
            "Velocity",
            "More than K events of one customer, card or IP in a sliding window.",
            1,
            {"max_events": 1, "hours": 24},
            ("customer|card|ip",),
            velocity,
        ),
        Rule(
            "card_testing",
            "Card testing",
            "A burst of small (or declined) payments from one card or IP.",
            4,
            {"count": 5, "minutes": 60, "small_amount": 5.0},
            ("card|ip", "amount|declined"),
            card_testing,
        ),
        Rule(
            "shared_ip",
            "Shared IP",
            "More than N distinct cards or accounts on one IP in a sliding window.",
            2,
            {"max_entities": 3, "hours": 24},
            ("ip", "card|customer"),
            shared_ip,
        ),
        Rule(
            "multi_device",
            "Several devices",
            "More than one device or IP for one account in a sliding window.",
            1,
            {"max_devices": 1, "hours": 24},
            ("customer", "device|ip"),
            multi_device,
            may_describe_data=True,
        ),
        Rule(
            "impossible_travel",
            "Impossible travel",
            "Consecutive located events of one customer implying more than V km/h (hops under 50 km are not travel).",
            3,
            {"kmh": 900, "min_km": 50},
            ("customer", "located"),
            impossible_travel,
        ),
        Rule(
            "country_mismatch",
            "Country mismatch",
            "GeoIP country differs from the billing or shipping country.",
            1,
            {},
            ("country", "billing_country"),
            country_mismatch,
            may_describe_data=True,
        ),
    )
}


def present_fields(events: Iterable[Event]) -> set[str]:
    """The Event fields that carry a value in at least one event."""
    names = {"amount", "customer", "card", "ip", "located", "country", "billing_country", "category", "device"}
    present = {name for event in events for name in names if getattr(event, name) is not None}
    if any(event.declined for event in events):
        present.add("declined")
    return present
