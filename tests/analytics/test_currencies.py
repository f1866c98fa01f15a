"""Money in many currencies is never added: the labelled transactions (163 ISO currencies) on the real servers."""

import csv
from collections import defaultdict

import pytest

from tests.analytics.conftest import client_for
from tests.datafiles import FRAUD_TRANSACTIONS
from tests.helpers import upload_and_wait

TRADER_ID = 900_010


def _per_currency() -> dict[str, list[float]]:
    """Each currency's amounts, read from the file itself."""
    amounts = defaultdict(list)
    with FRAUD_TRANSACTIONS.open(newline="") as source:
        for row in csv.DictReader(source):
            amounts[row["payment_currency"]].append(float(row["order_price"]))
    return amounts


@pytest.fixture(scope="module")
def trader(celery_worker):
    client = client_for(TRADER_ID, "trader")
    data, _job = upload_and_wait(client, FRAUD_TRANSACTIONS.name, FRAUD_TRANSACTIONS.read_bytes())
    client.job_id = data["job_id"]
    return client


def test_the_headline_revenue_is_the_main_currencys_own_never_a_sum_of_currencies(trader):
    summary = trader.get("/api/analytics/summary", {"job_id": trader.job_id}).json()
    amounts = _per_currency()

    # EGP has the most orders (20): the headline figures are in EGP alone, not 179,901.15 of 163 currencies.
    assert summary["currency"] == "EGP"
    assert summary["orders"] == 20
    assert summary["revenue"] == round(sum(amounts["EGP"]), 2)
    assert summary["average_order"] == round(sum(amounts["EGP"]) / 20, 2)
    assert summary["revenue"] != round(sum(sum(values) for values in amounts.values()), 2)


def test_every_currency_has_its_own_figures_the_main_one_first(trader):
    currencies = trader.get("/api/analytics/summary", {"job_id": trader.job_id}).json()["currencies"]
    amounts = _per_currency()

    assert len(currencies) == len(amounts) == 163
    assert currencies[0]["currency"] == "EGP"
    assert [row["orders"] for row in currencies] == sorted((row["orders"] for row in currencies), reverse=True)
    for row in currencies:
        assert row["orders"] == len(amounts[row["currency"]])
        assert row["revenue"] == round(sum(amounts[row["currency"]]), 2)


def test_the_timeline_keeps_each_currency_apart(trader):
    buckets = trader.get("/api/analytics/timeline", {"job_id": trader.job_id, "interval": "month"}).json()["buckets"]

    danish = [row for bucket in buckets for row in bucket["by_currency"] if row["currency"] == "DKK"]
    assert sum(row["orders"] for row in danish) == 17
    assert round(sum(row["revenue"] for row in danish), 2) == round(sum(_per_currency()["DKK"]), 2)
    # Orders are counted over every currency; money only within one (the 5 with the most lines, ties by code).
    assert sum(bucket["orders"] for bucket in buckets) == 1_611
    assert all("revenue" not in bucket for bucket in buckets)
    most_lines = sorted(_per_currency().items(), key=lambda item: (-len(item[1]), item[0]))[:5]
    assert {row["currency"] for bucket in buckets for row in bucket["by_currency"]} == {code for code, _ in most_lines}


def test_revenue_by_category_is_in_one_currency(trader):
    categories = trader.get("/api/analytics/categories", {"job_id": trader.job_id}).json()

    assert categories["currency"] == "EGP"
    assert round(sum(row["revenue"] for row in categories["categories"]), 2) == round(sum(_per_currency()["EGP"]), 2)
