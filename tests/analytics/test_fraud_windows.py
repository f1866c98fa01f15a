"""The windowed fraud rules as pure functions over events (no servers: the rules only read Event values)."""

from datetime import UTC, datetime, timedelta

from analytics.fraud.rules import RULES, Baselines, Event

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def event(n: int, minutes: float, **fields) -> Event:
    return Event(id=f"e{n}", time=START + timedelta(minutes=minutes), **fields)


def fired(rule: str, events: list[Event]) -> dict[str, str]:
    return RULES[rule].check(events, Baselines(), RULES[rule].params)


def test_more_cards_on_one_ip_than_allowed_within_the_window_fires_shared_ip_and_says_how_many():
    params = RULES["shared_ip"].params  # more than 3 cards or accounts within 24 h
    events = [event(n, 10 * n, card=f"4111-000{n}", customer=f"shopper-{n}", ip="81.2.69.142") for n in range(5)]

    hits = fired("shared_ip", events)

    assert params == {"max_entities": 3, "hours": 24}
    assert hits == {
        "e3": "4 cards and 4 accounts on this IP within 24 h",
        "e4": "5 cards and 5 accounts on this IP within 24 h",
    }


def test_cards_on_one_ip_spread_beyond_the_window_or_over_several_ips_do_not_fire():
    spread = [event(n, 9 * 60 * n, card=f"4111-000{n}", ip="81.2.69.142") for n in range(5)]  # 9 h apart
    apart = [event(n, n, card=f"4111-000{n}", ip=f"81.2.69.{n}") for n in range(5)]

    assert fired("shared_ip", spread) == {}
    assert fired("shared_ip", apart) == {}


def test_one_account_on_many_devices_within_the_window_fires_multi_device():
    limit = RULES["multi_device"].params["max_devices"]
    events = [event(n, n, customer="c-1", device=f"device-{n}") for n in range(limit + 1)]

    hits = fired("multi_device", events)

    assert list(hits) == [f"e{limit}"]
    assert hits[f"e{limit}"].startswith(f"{limit + 1} devices and 0 IPs for this account")
    assert fired("multi_device", events[:limit]) == {}


def test_velocity_fires_on_a_burst_but_not_on_a_customer_who_always_orders_that_often():
    orders = [event(n, 60 * n, customer="c-1", amount=40.0) for n in range(4)]  # 4 orders in 3 hours
    # A month in which c-1 placed 100 orders (about 3 a day) and the shop's other customers about 2 a day.
    regular = Baselines(counts={("customer", "c-1"): 100, ("customer", "c-2"): 60, ("customer", "c-3"): 70}, days=31)
    new = Baselines(counts={("customer", "c-1"): 4, ("customer", "c-2"): 3, ("customer", "c-3"): 2}, days=31)
    params = RULES["velocity"].params

    assert RULES["velocity"].check(orders, regular, params) == {}
    hits = RULES["velocity"].check(orders, new, params)
    assert list(hits) == ["e1", "e2", "e3"]
    assert hits["e3"] == (
        "4 orders from this customer within 24 h, where this customer usually places none and this shop's others 0.08"
    )


def test_a_young_account_ordering_again_fires_only_where_customers_rarely_come_back_that_soon():
    orders = [event(0, 0, customer="c-1", amount=30.0), event(1, 60 * 24 * 2, customer="c-1", amount=35.0)]
    first_seen = {"c-1": START}
    quick = {f"c-{n}": timedelta(days=1) for n in range(4)}  # 4 of 4 customers came back within a day
    rare = {"c-1": timedelta(days=2)}  # 1 of 4
    medians = dict.fromkeys(("c-1", "c-2", "c-3", "c-4"), 30.0)
    params = RULES["new_customer"].params

    usual = Baselines(first_seen=first_seen, medians=medians, comebacks=quick)
    unusual = Baselines(first_seen=first_seen, medians=medians, comebacks=rare)

    assert RULES["new_customer"].check(orders, usual, params) == {}
    hits = RULES["new_customer"].check(orders, unusual, params)
    assert hits == {
        "e1": "ordered again 2 days after this customer's first order on 2024-05-01; "
        "only 25% of this shop's customers come back within 14 days"
    }


def test_a_regular_customers_large_order_must_also_be_large_for_them():
    amounts = tuple(float(amount) for amount in range(1, 101))  # the shop's orders: 1.00 to 100.00
    orders = [
        event(0, 0, customer="c-1", amount=120.0, currency="EUR"),  # twice c-1's usual order
        event(1, 5, customer="c-1", amount=300.0, currency="EUR"),  # five times
        event(2, 9, customer="c-2", amount=120.0, currency="EUR"),  # c-2 has no history to compare with
    ]
    baselines = Baselines(amounts=amounts, counts={("customer", "c-1"): 30}, medians={"c-1": 60.0})

    hits = RULES["amount_p90"].check(orders, baselines, RULES["amount_p90"].params)

    assert hits == {
        "e1": "300.00 EUR is more than 90% of this shop's orders (90.10), and 5.0 times this customer's usual (60.00)",
        "e2": "120.00 EUR is more than 90% of this shop's orders (90.10)",
    }
