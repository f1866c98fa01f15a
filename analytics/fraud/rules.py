"""The fraud rules: pure functions over a customer's, card's or IP's events in time order.

Each rule says which of an event's fields it needs; a data set without them is reported, not failed.
Rules never see a label field (the scan does not load one). Points and thresholds are defaults an
analyst can change in the Django admin (FraudRuleSetting); README "Fraud rules" says how they were chosen.
"""

import math
import statistics
from bisect import bisect_left
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

EARTH_RADIUS_KM = 6371.0
MAD_SCALE = 1.4826  # makes the median absolute deviation comparable to a standard deviation
# Who an event is about, in the order an alert prefers them.
ENTITIES = ("customer", "card", "ip")
# A first order this soon after the data begins may be an older account's: the evidence says so.
EARLY_IN_THE_DATA = timedelta(days=14)


@dataclass(frozen=True)
class Event:
    """What the rules read of one indexed event, or of an order made of several (built by the scan)."""

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
    currency: str | None = None
    order_id: str | None = None
    cancelled: bool = False
    # An order made of line items, or an event uploaded more than once, stands for several documents.
    ids: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()
    lines: int = 1

    @property
    def documents(self) -> tuple[str, ...]:
        """The ids of the indexed documents this event stands for (its lines, its copies)."""
        return self.ids or (self.id,)

    @property
    def jobs(self) -> tuple[str, ...]:
        return self.job_ids or ((self.job_id,) if self.job_id else ())


@dataclass(frozen=True)
class Baselines:
    """What is usual for this owner's data, measured over their orders in a trailing window."""

    amounts: tuple[float, ...] = ()  # every order's amount, sorted
    categories: dict[str, tuple[float, float]] = field(default_factory=dict)  # category -> (median, scaled MAD)
    first_seen: dict[str, datetime] = field(default_factory=dict)  # customer -> first event time
    data_start: datetime | None = None  # the owner's first order ever: the data shows nothing before
    days: float = 1.0  # the days of orders the window holds
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # ("customer", "12583") -> orders
    medians: dict[str, float] = field(default_factory=dict)  # customer -> their median order
    comebacks: dict[str, timedelta] = field(default_factory=dict)  # customer -> first to second order

    def percentile(self, percent: float) -> float | None:
        """The amount under which `percent` % of the orders fall (linear between neighbours)."""
        if not self.amounts:
            return None
        rank = percent / 100 * (len(self.amounts) - 1)
        below = math.floor(rank)
        above = min(below + 1, len(self.amounts) - 1)
        return self.amounts[below] + (self.amounts[above] - self.amounts[below]) * (rank - below)

    def usual_order(self, customer: str | None, regular: int) -> float | None:
        """A regular customer's median order (one with at least `regular` orders); None for anyone else."""
        if customer is None or self.counts.get(("customer", customer), 0) < regular:
            return None
        return self.medians.get(customer)

    def comeback_share(self, window: timedelta) -> float:
        """The share of customers whose second order came within `window` of their first."""
        if not self.medians:
            return 0.0
        return sum(1 for after in self.comebacks.values() if after < window) / len(self.medians)

    def first_order_caveat(self, customer: str) -> str:
        """A warning when the customer's first order comes soon after the data begins: the data cannot show an
        older account's earlier orders."""
        first = self.first_seen.get(customer)
        if first is None or self.data_start is None or first - self.data_start >= EARLY_IN_THE_DATA:
            return ""
        return f" (the data begins {_age(first - self.data_start)} before it: the account may be older)"


def baselines_of(
    orders: list[Event], *, until: datetime, first_seen: dict[str, datetime], data_start: datetime | None
) -> Baselines:
    """The baselines of the orders of a trailing window ending at `until` (cancellations do not count)."""
    counted = [order for order in orders if order.amount is not None and not order.cancelled]
    by_category, by_customer = defaultdict(list), defaultdict(list)
    for order in counted:
        if order.category is not None:
            by_category[order.category].append(order.amount)
        if order.customer is not None:
            by_customer[order.customer].append(order)
    start = min((order.time for order in counted), default=None)
    return Baselines(
        amounts=tuple(sorted(order.amount for order in counted)),
        categories={category: _median_and_mad(amounts) for category, amounts in by_category.items()},
        first_seen=first_seen,
        data_start=data_start,
        days=max((until - start) / timedelta(days=1), 1.0) if start else 1.0,
        counts=Counter((kind, value) for order in counted for kind in ENTITIES if (value := getattr(order, kind))),
        medians={customer: statistics.median(order.amount for order in own) for customer, own in by_customer.items()},
        comebacks={customer: own[1].time - own[0].time for customer, own in by_customer.items() if len(own) > 1},
    )


class UsualRates:
    """How many orders an entity, and the shop's others of its kind, usually place within a window."""

    def __init__(self, baselines: Baselines, window: timedelta) -> None:
        self.counts = baselines.counts
        self.days = baselines.days
        self.window_days = window / timedelta(days=1)
        per_kind = defaultdict(list)
        for (kind, _value), count in self.counts.items():
            per_kind[kind].append(count)
        self.ordered = {kind: sorted(counts) for kind, counts in per_kind.items()}

    def own(self, kind: str, value: str, in_window: int) -> float:
        """The entity's orders outside this window, spread over the rest of the data."""
        rest, other_days = max(self.counts.get((kind, value), 0) - in_window, 0), self.days - self.window_days
        return rest / other_days * self.window_days if other_days > 0 else 0.0

    def shop(self, kind: str, value: str) -> float:
        """The median entity of this kind other than this one."""
        median = _median_without(self.ordered.get(kind, []), self.counts.get((kind, value)))
        return median / self.days * self.window_days


def _median_without(ordered: list[int], value: int | None) -> float:
    """The median of sorted `ordered` less one occurrence of `value` (when it is there)."""
    index = bisect_left(ordered, value) if value is not None else len(ordered)
    skip = index if index < len(ordered) and ordered[index] == value else len(ordered)
    size = len(ordered) - (skip < len(ordered))
    if size == 0:
        return 0.0

    def at(position: int) -> int:
        return ordered[position if position < skip else position + 1]

    return (at((size - 1) // 2) + at(size // 2)) / 2


def _median_and_mad(values: list[float]) -> tuple[float, float]:
    median = statistics.median(values)
    return median, MAD_SCALE * statistics.median(abs(value - median) for value in values)


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


def _money(value: float, currency: str | None = None) -> str:
    return f"{value:,.2f} {currency}" if currency else f"{value:,.2f}"


def _rate(count: float) -> str:
    return "none" if count == 0 else f"{count:.1f}" if count >= 1 else f"{count:.2f}"


def _age(delta: timedelta) -> str:
    """A duration as a person says it: "3 days", "5 hours", "12 minutes"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = int(delta.total_seconds() // size)
        if count >= 1:
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return "less than a minute"


# The rules


def amount_above_percentile(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    limit = baselines.percentile(params["percentile"])
    if limit is None:
        return {}
    hits = {}
    for event in events:
        if event.amount is None or event.amount <= limit:
            continue
        why = (
            f"{_money(event.amount, event.currency)} is more than {params['percentile']:g}% "
            f"of this shop's orders ({_money(limit)})"
        )
        usual = baselines.usual_order(event.customer, params["regular_orders"])
        if usual is None:
            hits[event.id] = why
        elif event.amount >= params["times_usual"] * usual:
            # A regular customer is judged against their own orders too: a large order is routine for some.
            hits[event.id] = f"{why}, and {event.amount / usual:.1f} times this customer's usual ({_money(usual)})"
    return hits


def category_outlier(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    hits = {}
    for event in events:
        median, scaled_mad = baselines.categories.get(event.category, (None, None))
        if event.amount is None or not scaled_mad:
            continue
        score = (event.amount - median) / scaled_mad
        if score > params["z"]:
            hits[event.id] = (
                f"{_money(event.amount, event.currency)} is far above the usual for {event.category} "
                f"(median {_money(median)}; {score:.1f} robust deviations)"
            )
    return hits


def _first_orders(events: list[Event], baselines: Baselines) -> set[str]:
    """Ids of the events that are their customer's very first."""
    firsts, seen = set(), set()
    for event in events:
        if event.customer and event.customer not in seen:
            seen.add(event.customer)
            if baselines.first_seen.get(event.customer) == event.time:
                firsts.add(event.id)
    return firsts


def new_customer(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    # The first order itself is judged by "first order, large amount"; a young account ordering
    # again and again (bust-out) is what this rule looks for, in a shop where customers do not usually
    # come back that soon.
    window = timedelta(days=params["days"])
    share = baselines.comeback_share(window)
    if share > params["usual_share"]:
        return {}
    firsts, hits = _first_orders(events, baselines), {}
    for event in events:
        first = baselines.first_seen.get(event.customer) if event.customer else None
        if first is not None and event.id not in firsts and event.time - first < window:
            hits[event.id] = (
                f"ordered again {_age(event.time - first)} after this customer's first order on {first:%Y-%m-%d}"
                f"{baselines.first_order_caveat(event.customer)}; only {share:.0%} of this shop's customers "
                f"come back within {params['days']:g} days"
            )
    return hits


def first_order_large(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    first_ids = _first_orders(events, baselines)
    firsts = [event for event in events if event.id in first_ids]
    large = amount_above_percentile(firsts, baselines, params)
    return {
        event.id: f"this customer's first order{baselines.first_order_caveat(event.customer)}: {large[event.id]}"
        for event in firsts
        if event.id in large
    }


def velocity(events: list[Event], baselines: Baselines, params: dict) -> dict[str, str]:
    # Payments and orders only: a visitor browsing many pages is not a velocity signal.
    span, limit = timedelta(hours=params["hours"]), params["max_events"]
    windows: dict[tuple, SlidingWindow] = defaultdict(lambda: SlidingWindow(span))
    usual = UsualRates(baselines, span)
    hits = {}
    for event in (event for event in events if event.amount is not None):
        for kind in ENTITIES:
            value = getattr(event, kind)
            if value is None:
                continue
            count = len(windows[(kind, value)].add(event.time, event.id))
            own, shop = usual.own(kind, value, count), usual.shop(kind, value)
            # What is usual for this customer (or card, or IP), or for the shop's others, is not velocity.
            if count > max(limit, params["times_usual"] * max(own, shop)):
                hits[event.id] = (
                    f"{count} orders from this {kind} within {params['hours']:g} h, where this {kind} usually "
                    f"places {_rate(own)} and this shop's others {_rate(shop)}"
                )
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
            "An order above the 90th percentile of the year's orders (a regular customer's: also N times their usual).",
            2,
            {"percentile": 90, "regular_orders": 12, "times_usual": 5},
            ("amount",),
            amount_above_percentile,
        ),
        Rule(
            "amount_p95",
            "Very large amount",
            "An order above the 95th percentile (adds to the 90th; a regular customer's: also N times their usual).",
            1,
            {"percentile": 95, "regular_orders": 12, "times_usual": 5},
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
            "A repeat order of a customer first seen less than N days before, unless most customers come back so soon.",
            3,
            {"days": 14, "usual_share": 0.75},
            ("customer",),
            new_customer,
        ),
        Rule(
            "first_order_large",
            "First order, large amount",
            "The customer's first order, above the 90th percentile (a regular customer's: also N times their usual).",
            3,
            {"percentile": 90, "regular_orders": 12, "times_usual": 5},
            ("customer", "amount"),
            first_order_large,
        ),
        Rule(
            "velocity",
            "Velocity",
            "More than K orders of one customer, card or IP in a sliding window, and N times its and the shop's usual.",
            1,
            {"max_events": 1, "hours": 24, "times_usual": 3},
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
