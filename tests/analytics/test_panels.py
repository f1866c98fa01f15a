"""GET /api/analytics/<panel> on the real servers: the reference figures of the shared files, to the cent."""

import pytest

from config.es import get_es
from tests.datafiles import ECOMMERCE_ORDERS


def panel(client, name: str, **params) -> dict:
    response = client.get(f"/api/analytics/{name}", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_orders_summary_matches_the_reference_figures(read_side, analyst):
    summary = panel(analyst, "summary", job_id=read_side.orders["job_id"])

    assert summary["events"] == 4_675
    assert summary["orders"] == 4_675
    assert summary["revenue"] == 350_859.04
    assert summary["average_order"] == 75.05
    assert summary["median_order"] == 63.98
    assert summary["p95_order"] == 155.96
    assert summary["customers"] == 46
    assert summary["currency"] == "EUR"
    assert summary["cancelled_orders"] == 0
    assert summary["net_revenue"] == 350_859.04
    assert [(row["currency"], row["orders"], row["revenue"]) for row in summary["currencies"]] == [
        ("EUR", 4_675, 350_859.04)
    ]


def test_the_retail_summary_counts_invoices_not_line_items(read_side, analyst):
    summary = panel(analyst, "summary", job_id=read_side.retail["job_id"])

    # The reference figures, computed from online_retail_france.csv itself.
    assert summary["events"] == 8_557
    assert summary["lines"] == 8_557
    assert summary["orders"] == 392
    assert summary["cancelled_orders"] == 69
    assert summary["revenue"] == 209_715.11
    assert summary["cancellations"] == -12_311.21
    assert summary["net_revenue"] == 197_403.90
    assert summary["average_order"] == 534.99
    assert summary["median_order"] == 375.13
    assert summary["customers"] == 87
    # The file states no currency: its figures stand alone, never added to another currency's.
    assert summary["currency"] is None
    assert len(summary["currencies"]) == 1


def test_every_retail_row_is_in_france_from_its_country_column(read_side, analyst):
    in_france = panel(analyst, "summary", job_id=read_side.retail["job_id"], country="FR")
    countries = panel(analyst, "geo", job_id=read_side.retail["job_id"])["countries"]

    found = analyst.get("/api/search", {"job_id": read_side.retail["job_id"], "country": "FR", "page_size": 1}).json()

    assert in_france["events"] == 8_557
    assert found["total"] == {"value": 8_557, "relation": "eq"}
    assert found["results"][0]["source"]["geo_status"] == "from_country_field"
    assert countries == [{"country": "FR", "name": "France", "count": 8_557}]


@pytest.mark.parametrize("country_filter", [{"country": "US"}, {"geoip.country_iso_code": "US"}])
def test_us_orders_and_revenue_match_by_canonical_or_file_field(read_side, analyst, country_filter):
    summary = panel(analyst, "summary", job_id=read_side.orders["job_id"], **country_filter)

    assert summary["orders"] == 1_206
    assert summary["revenue"] == 91_854.42


def test_revenue_by_category_sums_each_products_own_price(read_side, analyst):
    categories = panel(analyst, "categories", job_id=read_side.orders["job_id"])["categories"]
    by_name = {row["category"]: row for row in categories}

    assert by_name["Men's Clothing"]["revenue"] == 92_809.81
    assert by_name["Women's Clothing"]["revenue"] == 79_793.80
    assert round(sum(row["revenue"] for row in categories), 2) == round(
        sum(product["price"] for product in _orders() for product in product_list(product)), 2
    )


def _orders():
    import orjson

    with ECOMMERCE_ORDERS.open("rb") as lines:
        return [orjson.loads(line) for line in lines]


def product_list(order: dict) -> list[dict]:
    return order["products"]


def test_cancellations_of_the_retail_file_sum_to_the_reference(read_side, analyst):
    summary = panel(analyst, "summary", job_id=read_side.retail["job_id"], InvoiceNo="C*")

    assert summary["events"] == 149
    assert summary["orders"] == 0
    assert summary["revenue"] == 0.0
    assert summary["cancelled_orders"] == 69
    assert summary["cancellations"] == -12_311.21


def test_top_values_of_a_files_own_nested_and_canonical_fields(read_side, analyst):
    countries = panel(analyst, "top", field="geoip.country_iso_code", job_id=read_side.orders["job_id"], size=3)
    products = panel(analyst, "top", field="products.product_name", job_id=read_side.orders["job_id"], size=1)
    missing = panel(analyst, "top", field="no.such.field", job_id=read_side.orders["job_id"])

    assert countries["values"][0] == {"value": "US", "count": 1_206}
    assert products["values"][0]["count"] >= products["values"][0]["events"] >= 1
    assert missing["values"] == []
    assert missing["empty_reason"] == "no document has this field"


def test_the_timeline_counts_every_event_once_with_revenue_per_currency(read_side, analyst):
    timeline = panel(analyst, "timeline", job_id=read_side.orders["job_id"])

    assert timeline["interval"] == "day"
    assert sum(bucket["events"] for bucket in timeline["buckets"]) == 4_675
    euros = [row for bucket in timeline["buckets"] for row in bucket["by_currency"] if row["currency"] == "EUR"]
    assert round(sum(row["revenue"] for row in euros), 2) == 350_859.04
    busy = max(euros, key=lambda row: row["orders"])
    assert busy["average_order"] == round(busy["revenue"] / busy["orders"], 2)


def test_the_retail_timeline_counts_each_invoice_once_in_the_month_it_starts(read_side, analyst):
    timeline = panel(analyst, "timeline", job_id=read_side.retail["job_id"], interval="month")
    rows = [row for bucket in timeline["buckets"] for row in bucket["by_currency"]]

    assert sum(row["orders"] for row in rows) == 392
    assert round(sum(row["revenue"] for row in rows), 2) == 209_715.11
    assert round(sum(row["cancellations"] for row in rows), 2) == -12_311.21


def test_the_heatmap_folds_every_event_into_a_weekday_and_hour(read_side, analyst):
    heatmap = panel(analyst, "heatmap", job_id=read_side.orders["job_id"])

    assert sum(map(sum, heatmap["cells"])) == 4_675
    assert len(heatmap["cells"]) == 7 and all(len(row) == 24 for row in heatmap["cells"])


def test_the_geo_panel_places_orders_on_the_map_from_their_files_location(read_side, analyst):
    geo = panel(analyst, "geo", job_id=read_side.orders["job_id"], precision=2)

    assert geo["located"] == 4_675
    assert sum(cell["count"] for cell in geo["cells"]) == 4_675
    assert geo["countries"][0]["country"] == "US"


def test_http_status_classes_and_error_rate_of_access_logs(read_side, other_user):
    status = panel(other_user, "status", job_id=read_side.web["job_id"])
    counts = get_es().search(
        index="test-logs-ecom",
        size=0,
        query={"term": {"job_id": read_side.web["job_id"]}},
        aggs={"server": {"filter": {"range": {"response": {"gte": 500}}}}},
    )

    by_class = {row["class"]: row["count"] for row in status["classes"]}
    assert sum(by_class.values()) == 3_000
    assert by_class["5xx"] == counts["aggregations"]["server"]["doc_count"]
    assert status["error_rate"] == round(by_class["5xx"] / 3_000, 4)


def test_a_panel_for_data_without_the_field_says_so(read_side, analyst):
    status = panel(analyst, "status", job_id=read_side.orders["job_id"])

    assert status["classes"] == []
    assert status["empty_reason"] == "no HTTP status in these events"


@pytest.mark.parametrize("name", ["summary", "timeline", "top", "categories", "geo", "heatmap"])
def test_no_panel_shows_another_users_events(read_side, analyst, other_user, name):
    params = {"field": "log_type"} if name == "top" else {}
    owners = panel(analyst, name, job_id=read_side.orders["job_id"], **params)

    # The other user asks for the analyst's job: the answer is the one for a job that does not exist.
    seen_by_other = panel(other_user, name, job_id=read_side.orders["job_id"], **params)
    nothing = panel(other_user, name, job_id="no-such-job", **params)

    assert seen_by_other == nothing
    assert owners != nothing


def test_an_unknown_panel_is_a_404_with_the_list(analyst):
    response = analyst.get("/api/analytics/pie")

    assert response.status_code == 404
    assert "summary, timeline, top" in response.json()["error"]
