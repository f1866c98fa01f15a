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
