"""Reading what the rules need from Elasticsearch: the events of a scan, their context, and the baselines.

Fields are found by ingestion's naming conventions (customer, card, IP, amount, country, order, ...); only
the fields the rules use are loaded, so a label field never reaches a rule.
"""

import datetime as dt
from dataclasses import dataclass

from elasticsearch_dsl import A, Q, Search

from analytics.fraud.orders import as_orders
from analytics.fraud.rules import Baselines, Event, baselines_of
from analytics.mapping import field_map
from analytics.queries import events_search
from analytics.search import iter_hits
from ingestion.contract import (
    BILLING_COUNTRY_FIELDS,
    CARD_FIELDS,
    CATEGORY_FIELDS,
    DECLINE_FIELDS,
    DEVICE_FIELDS,
    LABEL_FIELDS,
    ORDER_FIELDS,
    find_field,
    normalize_name,
    normalized,
)

# Events of the same owner this long before and after the scanned ones feed the sliding windows.
CONTEXT = dt.timedelta(days=1)
DECLINED_WORDS = ("declin", "denied", "fail", "reject", "refused")


@dataclass(frozen=True)
class FieldChoice:
    """Which document field feeds each Event attribute (None: this data has no such field)."""

    card: str | None
    device: str | None
    billing_country: str | None
    category: str | None
    declined: str | None
    # Every order field the files have (one file says order_id, another InvoiceNo), in order of preference.
    orders: tuple[str, ...] = ()

    def loaded(self) -> list[str]:
        canonical = [
            "@timestamp",
            "job_id",
            "amount",
            "currency",
            "cancellation",
            "user_id",
            "ip",
            "geo_status",
            "geo.country_iso_code",
            "geo.location",
        ]
        single = [self.card, self.device, self.billing_country, self.category, self.declined]
        return canonical + [name for name in single if name] + list(self.orders)


def choose_fields(exclude: tuple[str, ...] = ()) -> FieldChoice:
    """The file's own fields the rules can use, by convention; label fields are never chosen."""
    labels = set(normalized(LABEL_FIELDS))
    names = [
        name
        # Fresh: the file just indexed may have brought the very fields the rules need.
        for name, kind in field_map(fresh=True).types.items()
        if kind in ("keyword", "double", "long", "integer", "boolean")
        and not name.endswith(".text")
        and "." not in name
        and normalize_name(name) not in labels
        and name not in exclude
    ]

    def pick(candidates: tuple[str, ...]) -> str | None:
        return find_field(names, candidates)

    return FieldChoice(
        card=pick(CARD_FIELDS),
        device=pick(DEVICE_FIELDS),
        billing_country=pick(BILLING_COUNTRY_FIELDS),
        category=pick(CATEGORY_FIELDS),
        declined=pick(DECLINE_FIELDS),
        orders=tuple(dict.fromkeys(field for candidate in ORDER_FIELDS if (field := pick((candidate,))))),
    )


def owner_search(owner_id: int, base: Search | None = None) -> Search:
    return (base if base is not None else events_search()).filter(Q("term", owner=str(owner_id)))


def job_span(owner_id: int, job_id: str | None, fields: FieldChoice) -> tuple[dt.datetime, dt.datetime] | None:
    """The time span of the events to screen: those with an amount, a customer or a card (None: nothing to do)."""
    screened = [name for name in ("amount", "user_id", fields.card) if name]
    search = (
        owner_search(owner_id)
        .extra(size=0)
        .filter(Q("bool", should=[Q("exists", field=name) for name in screened], minimum_should_match=1))
    )
    if job_id:
        search = search.filter(Q("term", job_id=job_id))
    search.aggs.metric("first", A("min", field="@timestamp"))
    search.aggs.metric("last", A("max", field="@timestamp"))
    aggs = search.execute().aggregations
    if aggs.first.value is None:
        return None
    return tuple(dt.datetime.fromtimestamp(value / 1000, dt.UTC) for value in (aggs.first.value, aggs.last.value))


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _cancelled(source: dict, amount: float | None) -> bool:
    # Ingestion marks a cancellation (an invoice number like C536379, a negative quantity); documents indexed
    # before it did carry only the negative amount.
    return source.get("cancellation") is True or (amount is not None and amount < 0)


def _event(hit: dict, fields: FieldChoice) -> Event:
    source = hit["_source"]
    geo = source.get("geo") or {}
    location = geo.get("location") if source.get("geo_status") == "found" else None
    declined = _text(source.get(fields.declined)) if fields.declined else None
    amount = source.get("amount") if isinstance(source.get("amount"), int | float) else None
    return Event(
        id=hit["_id"],
        time=dt.datetime.fromisoformat(source["@timestamp"].replace("Z", "+00:00")),
        amount=amount,
        customer=_text(source.get("user_id")),
        card=_text(source.get(fields.card)) if fields.card else None,
        ip=_text(source.get("ip")),
        located=(location["lat"], location["lon"]) if isinstance(location, dict) else None,
        country=_text(geo.get("country_iso_code")) if source.get("geo_status") == "found" else None,
        billing_country=_text(source.get(fields.billing_country)) if fields.billing_country else None,
        category=_text(source.get(fields.category)) if fields.category else None,
        device=_text(source.get(fields.device)) if fields.device else None,
        declined=bool(declined) and declined.lower().startswith(DECLINED_WORDS),
        job_id=source.get("job_id"),
        currency=_text(source.get("currency")),
        order_id=next((text for name in fields.orders if (text := _text(source.get(name)))), None),
        cancelled=_cancelled(source, amount),
    )


def load_events(owner_id: int, span: tuple[dt.datetime, dt.datetime], fields: FieldChoice) -> list[Event]:
    """The owner's events from a day before to a day after the span, as orders (see `as_orders`), in time order."""
    window = {"gte": (span[0] - CONTEXT).isoformat(), "lte": (span[1] + CONTEXT).isoformat()}
    search = owner_search(owner_id, Search()).filter(Q("range", **{"@timestamp": window})).source(fields.loaded())
    return as_orders([_event(hit, fields) for hit in iter_hits(search, sort="@timestamp")])


def baselines(owner_id: int, *, until: dt.datetime, days: int, fields: FieldChoice, customers: set[str]) -> Baselines:
    """What is usual for this owner: their orders over the trailing window, and customers' first events ever."""
    window = {"gte": (until - dt.timedelta(days=days)).isoformat(), "lte": until.isoformat()}
    search = (
        owner_search(owner_id, Search())
        .filter(Q("range", **{"@timestamp": window}))
        .filter(Q("exists", field="amount"))
        .source(fields.loaded())
    )
    orders = as_orders([_event(hit, fields) for hit in iter_hits(search, sort="@timestamp")])
    return baselines_of(
        orders, until=until, first_seen=_first_seen(owner_id, customers), data_start=_first_order(owner_id)
    )


def _not_cancelled(search: Search) -> Search:
    return search.exclude(Q("range", amount={"lt": 0}) | Q("term", cancellation=True))


def _first_order(owner_id: int) -> dt.datetime | None:
    """The owner's first order ever: their data shows nothing before it."""
    search = _not_cancelled(owner_search(owner_id).filter(Q("exists", field="amount"))).extra(size=0)
    search.aggs.metric("first", A("min", field="@timestamp"))
    first = search.execute().aggregations.first.value
    return dt.datetime.fromtimestamp(first / 1000, dt.UTC) if first is not None else None


def _first_seen(owner_id: int, customers: set[str]) -> dict[str, dt.datetime]:
    """Each customer's first event ever; a cancellation is not a first order."""
    first: dict[str, dt.datetime] = {}
    ordered = sorted(customers)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        search = _not_cancelled(owner_search(owner_id).filter(Q("terms", user_id=chunk))).extra(size=0)
        search.aggs.bucket("customers", A("terms", field="user_id", size=len(chunk))).metric(
            "first", A("min", field="@timestamp")
        )
        for bucket in search.execute().aggregations.customers.buckets:
            first[str(bucket.key)] = dt.datetime.fromtimestamp(bucket.first.value / 1000, dt.UTC)
    return first
