"""Orders from line items, per currency: rows sharing an order id are one order, and cancellations stay apart.

An order is a distinct `order_id` among the non-cancelled events with an amount, or an event with an amount
and no order id (each its own order); its value is the sum of its lines. Cancelled lines (`cancellation`) are
counted the same way, apart. Money is never added across currencies: each currency, and "no currency
stated", gets its own figures, the main one (most orders) first.

Per-order totals need a composite aggregation (order id x sum), read page by page; it runs only when some
order id really has several lines. Otherwise every line is an order, and exact percentiles are read from the
documents themselves (a count and a short walk), which stays fast over millions of events.
"""

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

from elasticsearch_dsl import A, MultiSearch, Q, Search
from elasticsearch_dsl.aggs import Agg

from config.es import get_es
from ingestion.contract import events_alias

# A line with an amount is a sale unless marked a cancellation (old documents have no mark: sales).
SALE = Q("bool", filter=[Q("exists", field="amount")], must_not=[Q("term", cancellation=True)])
CANCELLED = Q("bool", filter=[Q("exists", field="amount"), Q("term", cancellation=True)])
WITHOUT_ORDER_ID = Q("bool", must_not=[Q("exists", field="order_id")])
MAX_CURRENCIES = 200
CARDINALITY_PRECISION = 40_000  # Elasticsearch's highest
COMPOSITE_PAGE = 10_000
# t-digest keeps every value up to this many, and guesses close beyond: the start of an exact walk.
PERCENTILE_COMPRESSION = 1000


@dataclass(frozen=True)
class OrderTotal:
    currency: str | None
    cancelled: bool
    total: float
    first_ms: int  # the time of its earliest line


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def currency_query(currency: str | None) -> Q:
    return Q("term", currency=currency) if currency is not None else Q("bool", must_not=[Q("exists", field="currency")])


def add_group_aggs(parent: Agg) -> None:
    """Under each currency: sales (sum, lines without an order id) and cancellations (the same)."""
    for name, query in (("sales", SALE), ("cancelled", CANCELLED)):
        lines = parent.bucket(name, A("filter", query))
        lines.metric("total", A("sum", field="amount"))
        lines.bucket("without_id", A("filter", WITHOUT_ORDER_ID))


def add_currency_aggs(parent: Agg, only: list[str] | None = None) -> None:
    """Under `parent` (a search's aggs or a bucket), the events with an amount ("money"): all of them, each
    currency (all, or `only` these) and those with no currency, each with the group aggregations.

    The amount filter comes first so that events without one (web logs) cost nothing further.
    """
    money = parent.bucket("money", A("filter", Q("exists", field="amount")))
    add_group_aggs(money)
    terms = {"size": len(only), "include": only} if only else {"size": MAX_CURRENCIES}
    add_group_aggs(money.bucket("currencies", A("terms", field="currency", **terms)))
    add_group_aggs(money.bucket("no_currency", A("filter", Q("bool", must_not=[Q("exists", field="currency")]))))


def add_repeat_check(parent: Agg) -> None:
    """What tells whether any order id has two or more lines: only then are per-order totals worth reading.

    Not a terms aggregation with min_doc_count 2: indices made before `order_id` was a keyword may map a
    file's own order_id as a number, and terms cannot merge two types; cardinality and value_count can.
    """
    ids = parent.bucket("with_order_id", A("filter", Q("exists", field="amount") & Q("exists", field="order_id")))
    ids.metric("distinct", A("cardinality", field="order_id", precision_threshold=CARDINALITY_PRECISION))


def has_repeats(aggs) -> bool:
    """Below the precision threshold a cardinality never counts more ids than there are, so fewer distinct ids
    than lines means a repeat; above it the estimate may be off either way, so the totals are read anyway."""
    lines, distinct = aggs.with_order_id.doc_count, aggs.with_order_id.distinct.value
    return distinct < lines or lines > CARDINALITY_PRECISION


def currency_groups(aggs) -> list[tuple[str | None, object]]:
    """(currency, its aggregation bucket) for every currency with a sale or a cancellation."""
    groups = [(bucket.key, bucket) for bucket in aggs.money.currencies.buckets]
    if aggs.money.no_currency.doc_count:
        groups.append((None, aggs.money.no_currency))
    return [(currency, group) for currency, group in groups if group.sales.doc_count or group.cancelled.doc_count]


def order_totals(search: Search) -> list[OrderTotal]:
    """Each order's total (the sum of its lines), per currency and cancelled or not; orders with an id only."""
    query = search.filter(Q("exists", field="amount")).filter(Q("exists", field="order_id")).to_dict()["query"]
    sources = [
        {"currency": {"terms": {"field": "currency", "missing_bucket": True}}},
        {"cancelled": {"terms": {"field": "cancellation", "missing_bucket": True}}},
        {"order": {"terms": {"field": "order_id"}}},
    ]
    totals: list[OrderTotal] = []
    after = None
    while True:
        composite = {"sources": sources, "size": COMPOSITE_PAGE, **({"after": after} if after else {})}
        aggs = {
            "orders": {
                "composite": composite,
                "aggs": {"total": {"sum": {"field": "amount"}}, "first": {"min": {"field": "@timestamp"}}},
            }
        }
        # The raw client and a filter_path: tens of thousands of buckets parse faster than through the DSL.
        response = get_es().search(
            index=events_alias(),
            query=query,
            aggs=aggs,
            size=0,
            track_total_hits=False,
            filter_path="aggregations.orders.after_key,aggregations.orders.buckets",
        )
        result = response.body.get("aggregations", {}).get("orders", {})
        for bucket in result.get("buckets", ()):
            key = bucket["key"]
            totals.append(
                OrderTotal(key["currency"], bool(key["cancelled"]), bucket["total"]["value"], bucket["first"]["value"])
            )
        after = result.get("after_key")
        if not after or len(result.get("buckets", ())) < COMPOSITE_PAGE:
            return totals


def _walk(search: Search, k: int, guess: float, below: int) -> Search:
    """From a guess with `below` values under it, the one-hit search that lands on the k-th smallest."""
    if below < k:
        rest, offset = search.filter(Q("range", amount={"gte": guess})).sort({"amount": "asc"}), k - 1 - below
    else:
        rest, offset = search.filter(Q("range", amount={"lt": guess})).sort({"amount": "desc"}), below - k
    # A close guess keeps the offset small; from+size beyond 10,000 would be refused by Elasticsearch.
    return rest.source(["amount"]).extra(from_=min(offset, 9999), size=1, track_total_hits=False)


def kth_smallest(search: Search, ranks: list[int], count: int) -> dict[int, float]:
    """The exact k-th smallest amounts (1-based ranks) among `count` documents, in three round trips.

    A t-digest guess for each rank, a count of the values under each guess, then a short walk from each.
    """
    guesses = search.extra(size=0, track_total_hits=False)
    percents = [min(100.0, 100.0 * k / count) for k in ranks]
    guesses.aggs.metric(
        "guess",
        A(
            "percentiles",
            field="amount",
            percents=percents,
            keyed=False,
            tdigest={"compression": PERCENTILE_COMPRESSION},
        ),
    )
    values = [row.value for row in guesses.execute().aggregations.guess["values"]]
    counts = MultiSearch(using=get_es(), index=events_alias())
    for guess in values:
        counts = counts.add(search.filter(Q("range", amount={"lt": guess})).extra(size=0, track_total_hits=True))
    below = [response.hits.total.value for response in counts.execute()]
    walks = MultiSearch(using=get_es(), index=events_alias())
    for k, guess, under in zip(ranks, values, below, strict=True):
        walks = walks.add(_walk(search, k, guess, under))
    found = {}
    for k, guess, response in zip(ranks, values, walks.execute(), strict=True):
        found[k] = response.hits[0]["amount"] if response.hits else guess
    return found


def kth_of_union(
    grouped: list[float], single_count: int, at_most: Callable[[float], int], kth_single: Callable[[int], float], k: int
) -> float:
    """The k-th smallest (1-based) of two sorted collections: `grouped` in memory, and `single_count` values
    known only through `at_most(v)` (how many are <= v) and `kth_single(j)` (the j-th smallest of them).

    With F(v) = how many of both are <= v, the answer is the first grouped value g with F(g) >= k, or the
    (k - #grouped below g)-th single value if that is smaller; a binary search over `grouped` finds g.
    """
    if not single_count:
        return grouped[k - 1]
    low, high = 0, len(grouped)
    while low < high:
        middle = (low + high) // 2
        if bisect.bisect_right(grouped, grouped[middle]) + at_most(grouped[middle]) >= k:
            high = middle
        else:
            low = middle + 1
    if low == len(grouped):
        return kth_single(k - len(grouped))
    rank = k - bisect.bisect_left(grouped, grouped[low])
    return grouped[low] if rank > single_count else min(grouped[low], kth_single(rank))


def order_median_and_p95(grouped: list[float], single: Search, single_count: int) -> tuple[float | None, float | None]:
    """The median order value (of an even count, the mean of the two middle values) and the nearest-rank 95th."""
    count = len(grouped) + single_count
    if not count:
        return None, None
    middle = [count // 2, count // 2 + 1] if count % 2 == 0 else [math.ceil(count / 2)]
    top = max(1, math.ceil(0.95 * count))
    ranks = sorted({*middle, top})
    if not grouped:
        values = kth_smallest(single, ranks, single_count)
    else:
        # Orders grouped from their lines (in memory) mixed with single-line orders (in the index): rare, and
        # a count per step of the binary search.
        def at_most(value: float) -> int:
            return single.filter(Q("range", amount={"lte": value})).count()

        def kth_single(rank: int) -> float:
            return kth_smallest(single, [rank], single_count)[rank]

        values = {k: kth_of_union(grouped, single_count, at_most, kth_single, k) for k in ranks}
    return sum(values[k] for k in middle) / len(middle), values[top]


def group_figures(currency: str | None, group, totals: list[OrderTotal] | None) -> dict:
    """Orders, gross, cancellations, net and average of one currency (per-order totals when lines are grouped)."""
    sales, cancelled = group.sales, group.cancelled
    if totals is None:
        orders, cancelled_orders = sales.doc_count, cancelled.doc_count
    else:
        mine = [total for total in totals if total.currency == currency]
        orders = sales.without_id.doc_count + sum(1 for total in mine if not total.cancelled)
        cancelled_orders = cancelled.without_id.doc_count + sum(1 for total in mine if total.cancelled)
    gross = sales.total.value if sales.doc_count else 0.0
    cancellations = cancelled.total.value if cancelled.doc_count else 0.0
    return {
        "currency": currency,
        "orders": orders,
        "lines": sales.doc_count,
        "revenue": _round(gross),
        "cancelled_orders": cancelled_orders,
        "cancelled_lines": cancelled.doc_count,
        "cancellations": _round(cancellations),
        "net_revenue": _round(gross + cancellations),
        "average_order": _round(gross / orders) if orders else None,
    }


def no_orders() -> dict:
    """The figures of a scope without a single sale or cancellation."""
    return {
        "currency": None,
        "orders": 0,
        "lines": 0,
        "revenue": 0.0,
        "cancelled_orders": 0,
        "cancelled_lines": 0,
        "cancellations": 0.0,
        "net_revenue": 0.0,
        "average_order": None,
    }
