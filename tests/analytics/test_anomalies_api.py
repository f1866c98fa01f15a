"""GET /api/anomalies on fourteen days of real web access rows, uploaded through the API, with planted anomalies."""

import datetime as dt
from collections import Counter

import pytest

from analytics.anomalies import latest_anomaly
from analytics.filters import EventFilters
from tests.analytics.conftest import client_for
from tests.analytics.planted import CLEAN, DIP, ERROR_BURST, HOUR, SILENT, SPIKE
from tests.conftest import PLANTED_OWNER_ID, fresh_user_id

pytestmark = pytest.mark.django_db(transaction=True)
POINT_KEYS = {"t", "value", "expected", "low", "high", "score", "anomaly"}
ANOMALY_KEYS = {"from", "to", "peak", "value", "expected", "score", "direction", "explanation"}


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def shop(planted_upload):
    """The shop owner with the planted series, and the upload to scope to."""
    return client_for(PLANTED_OWNER_ID, "keeper"), planted_upload


@pytest.fixture(scope="module")
def hourly_counts(shop):
    owner, _ = shop
    response = owner.get("/api/anomalies", {"series": "count"})
    assert response.status_code == 200, response.json()
    return response.json()


def anomaly_over(answer: dict, moment: dt.datetime) -> dict | None:
    return next((item for item in answer["anomalies"] if item["from"] <= iso(moment) < item["to"]), None)


def test_the_natural_interval_of_fourteen_days_of_shop_traffic_is_an_hour(hourly_counts):
    assert hourly_counts["interval"] == "1h"
    assert len(hourly_counts["series"]) == 14 * 24
    assert hourly_counts["season"] == "hour of day"


def test_each_planted_anomaly_is_found_at_medium_sensitivity(hourly_counts):
    spike, dip, silent = (anomaly_over(hourly_counts, moment) for moment in (SPIKE, DIP, SILENT))

    assert spike["direction"] == "up" and spike["score"] >= 50
    assert dip["direction"] == "down" and dip["score"] >= 50
    assert silent["direction"] == "down" and silent["value"] == 0
    # Every request went missing alike: no one value is named as the cause.
    assert "of the drop is" not in silent["explanation"]


def test_the_clean_stretch_raises_no_alarm(hourly_counts):
    assert [item for item in hourly_counts["anomalies"] if iso(CLEAN[0]) <= item["from"] < iso(CLEAN[1])] == []


def test_the_answer_has_the_contract_shape(hourly_counts):
    assert set(hourly_counts["anomalies"][0]) == ANOMALY_KEYS
    for point in hourly_counts["series"]:
        assert set(point) == POINT_KEYS
        assert 0 <= point["score"] <= 100
        assert point["low"] <= point["expected"] <= point["high"]
        assert point["anomaly"] == (point["score"] >= 50)  # medium sensitivity


def test_the_spike_is_explained_with_its_band_and_the_country_it_came_from(shop, hourly_counts):
    owner, _ = shop
    window = {"from": iso(SPIKE), "to": iso(SPIKE + HOUR - dt.timedelta(seconds=1)), "page_size": 500}
    hits = owner.get("/api/search", window).json()["results"]
    country = Counter(hit["source"]["geo"].get("country_iso_code") for hit in hits).most_common(1)[0][0]

    explanation = anomaly_over(hourly_counts, SPIKE)["explanation"]

    assert explanation.startswith("events 1")
    assert "in the hour to 15:00 on Wed 13 Mar, expected " in explanation
    assert "for this hour of the day" in explanation
    assert f"of the rise is country {country}" in explanation


def test_the_error_burst_is_found_in_the_error_rate(shop):
    owner, _ = shop
    answer = owner.get("/api/anomalies", {"series": "error_rate"}).json()

    burst = anomaly_over(answer, ERROR_BURST)
    assert burst["direction"] == "up"
    assert burst["explanation"].startswith("error rate 5")
    assert "in the hour to 21:00 on Thu 14 Mar, expected 0.0%" in burst["explanation"]
    assert [item for item in answer["anomalies"] if item is not burst] == []


def test_a_field_series_and_the_search_filters_scope_it(shop):
    owner, upload = shop
    answer = owner.get("/api/anomalies", {"series": "sum:bytes", "job_id": upload["job_id"], "interval": "1h"}).json()
    late = owner.get("/api/anomalies", {"series": "count", "from": "2024-03-15T00:00:00Z"}).json()

    assert answer["series_name"] == "total bytes"
    assert anomaly_over(answer, SILENT)["value"] == 0
    assert late["series"][0]["t"] == "2024-03-15T00:00:00Z"


def test_anomalies_per_entity_follow_the_top_values_by_volume(shop):
    owner, _ = shop
    answer = owner.get("/api/anomalies", {"series": "count", "by": "geo.country_iso_code"}).json()

    assert answer["by"] == "geo.country_iso_code"
    assert 1 < len(answer["entities"]) <= 5
    with_spike = [entity["key"] for entity in answer["entities"] if anomaly_over(entity, SPIKE)]
    assert len(with_spike) == 1
    assert all(set(entity["series"][0]) == POINT_KEYS for entity in answer["entities"])


def test_another_user_sees_no_series_of_mine(shop, celery_worker):
    stranger = client_for(fresh_user_id(), "stranger")
    answer = stranger.get("/api/anomalies", {"series": "count"}).json()

    assert answer["series"] == [] and answer["anomalies"] == []
    assert answer["note"] == "no events in this range"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"series": "median:bytes"}, "series: count, error_rate, or sum:<field>"),
        ({"series": "sum:request"}, "series: 'request' is not a number"),
        ({"series": "avg:no_such_field"}, "series: no field 'no_such_field' in these events"),
        ({"interval": "1m"}, "interval: 1m would make more than 3,000 buckets"),
    ],
)
def test_it_refuses_a_series_it_cannot_follow_with_a_sentence(shop, params, message):
    owner, _ = shop
    response = owner.get("/api/anomalies", params)

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"].startswith(message)


def test_an_alert_rule_sees_the_silent_hour_once_it_is_complete(shop):
    owner, _ = shop
    ask = {"user": owner.user, "filters": EventFilters(), "series": "count", "sensitivity": "medium"}

    during = latest_anomaly(**ask, now=SILENT + dt.timedelta(minutes=30))
    after = latest_anomaly(**ask, now=SILENT + HOUR + dt.timedelta(minutes=1))
    later = latest_anomaly(**ask, now=SILENT + 2 * HOUR + dt.timedelta(minutes=1))

    assert during is None
    assert after["from"] == iso(SILENT) and after["direction"] == "down"
    assert later is None
