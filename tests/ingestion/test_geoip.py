"""GeoIP lookups and enrichment against the real City database."""

import orjson
import pytest

from ingestion.geoip import enrich, lookup
from tests.datafiles import ECOMMERCE_ORDERS, ONLINE_RETAIL_FRANCE, WEB_ACCESS_LOGS, csv_records, first_json_record


def test_a_public_ip_is_found_with_country_and_location():
    doc = {"ip": "8.8.8.8"}

    assert enrich(doc) == "found"

    assert doc["geo_status"] == "found"
    assert doc["geo"]["country_iso_code"] == "US"
    assert doc["geo"]["country_name"] == "United States"
    location = doc["geo"]["location"]
    assert isinstance(location["lat"], float)
    assert isinstance(location["lon"], float)
    assert -90 <= location["lat"] <= 90
    assert -180 <= location["lon"] <= 180


def test_a_private_ip_is_kept_but_not_enriched():
    doc = {"ip": "10.0.0.1"}

    assert enrich(doc) == "private"

    assert doc == {"ip": "10.0.0.1", "geo_status": "private"}


@pytest.mark.parametrize("ip", ["127.0.0.1", "169.254.1.1", "192.168.1.20", "fd00::1"])
def test_loopback_link_local_and_private_ranges_are_private(ip):
    assert lookup(ip).status == "private"


@pytest.mark.parametrize("ip", ["240.1.2.3", "224.0.0.1", "0.0.0.0", "::"])  # noqa: S104
def test_reserved_multicast_and_unspecified_addresses_are_reserved(ip):
    assert lookup(ip).status == "reserved"


def test_an_address_outside_the_database_is_not_found():
    # Shared address space (carrier-grade NAT) is neither private nor in the database.
    assert lookup("100.64.0.1").status == "not_found"


def test_a_string_that_is_not_an_ip_is_invalid_and_adds_no_geo():
    doc = {"ip": "not-an-ip"}

    assert enrich(doc) == "invalid"

    assert "geo" not in doc
    assert doc["geo_status"] == "invalid"


def test_a_doc_without_ip_gets_no_geo_status():
    doc = {"message": "hello"}

    assert enrich(doc) == "none"

    assert doc == {"message": "hello"}


def test_an_existing_geo_object_is_merged_not_replaced():
    with open(WEB_ACCESS_LOGS, "rb") as rows:
        doc = orjson.loads(rows.readline())
    original_geo = dict(doc["geo"])

    enrich(doc)

    assert {key: doc["geo"][key] for key in original_geo} == original_geo
    assert doc["geo"]["country_iso_code"] == "CN"
    assert set(doc["geo"]) - set(original_geo) == {"country_iso_code", "country_name", "city_name", "location"}


def test_a_scalar_geo_field_is_moved_aside_so_the_geo_object_can_be_added():
    doc = {"ip": "8.8.8.8", "geo": "Mountain View"}

    enrich(doc)

    assert doc["geo_original"] == "Mountain View"
    assert doc["geo"]["country_iso_code"] == "US"


def test_a_real_client_ip_from_the_web_access_logs_is_located_in_china():
    assert lookup("223.87.60.27").country_iso_code == "CN"


def test_an_order_without_ip_keeps_the_location_its_file_carries():
    doc = first_json_record(ECOMMERCE_ORDERS)

    assert enrich(doc) == "from_file"

    assert doc["geo"] == {
        "country_iso_code": "EG",
        "country_name": "Egypt",
        "city_name": "Cairo",
        "location": {"lat": 30.1, "lon": 31.3},
    }
    assert doc["geo_status"] == "from_file"


def test_an_ip_the_database_places_wins_over_the_files_own_location():
    doc = {"ip": "8.8.8.8", "geoip": {"country_iso_code": "EG", "location": {"lat": 30.1, "lon": 31.3}}}

    assert enrich(doc) == "found"

    assert doc["geo"]["country_iso_code"] == "US"


def test_a_retail_row_without_ip_is_placed_in_the_country_its_country_column_names():
    _, records = csv_records(ONLINE_RETAIL_FRANCE, limit=1)
    doc = dict(records[0])

    assert enrich(doc) == "from_country_field"

    assert doc["geo_status"] == "from_country_field"
    assert doc["geo"]["country_iso_code"] == "FR"
    assert doc["geo"]["country_name"] == "France"
    location = doc["geo"]["location"]
    assert 42 < location["lat"] < 51 and -5 < location["lon"] < 8  # inside metropolitan France


def test_an_ip_that_cannot_be_placed_gives_way_to_the_country_column():
    doc = {"ip": "10.0.0.7", "Country": "United Kingdom"}

    assert enrich(doc) == "from_country_field"

    assert doc["geo"]["country_iso_code"] == "GB"


def test_a_country_column_never_overrides_a_placed_ip():
    doc = {"ip": "8.8.8.8", "country": "France"}

    assert enrich(doc) == "found"

    assert doc["geo"]["country_iso_code"] == "US"


def test_an_unknown_country_adds_no_geo():
    doc = {"Country": "Unspecified"}

    assert enrich(doc) == "none"

    assert "geo" not in doc
