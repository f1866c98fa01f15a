"""Field type inference over real records."""

import pytest

from ingestion.field_types import infer_field_types, is_identifier_name, numeric_columns
from tests.datafiles import FRAUD_TRANSACTIONS, ONLINE_RETAIL_FRANCE, WEB_ACCESS_LOGS, csv_records, first_json_record


def test_it_infers_types_of_the_real_retail_csv_keeping_codes_as_strings():
    _, records = csv_records(ONLINE_RETAIL_FRANCE)
    types = infer_field_types(records)
    assert types == {
        "InvoiceNo": "string",
        "StockCode": "string",
        "Description": "string",
        "Quantity": "integer",
        "InvoiceDate": "timestamp",
        "UnitPrice": "float",
        "CustomerID": "string",
        "Country": "string",
    }
    assert numeric_columns(types) == {"Quantity": int, "UnitPrice": float}


def test_it_infers_ips_timestamps_and_floats_in_the_real_fraud_csv():
    _, records = csv_records(FRAUD_TRANSACTIONS)
    types = infer_field_types(records)
    assert types["ip_address"] == "ip"
    assert types["EVENT_TIMESTAMP"] == types["LABEL_TIMESTAMP"] == "timestamp"
    assert types["order_price"] == types["billing_latitude"] == "float"
    assert types["card_bin"] == types["billing_zip"] == types["billing_phone"] == "string"
    assert "card_bin" not in numeric_columns(types)


def test_it_infers_json_types_from_the_real_web_logs():
    types = infer_field_types([first_json_record(WEB_ACCESS_LOGS)])
    assert types["bytes"] == "integer"
    assert types["geo"] == "object"
    assert types["tags"] == "array"
    assert types["clientip"] == "ip"
    assert types["timestamp"] == "timestamp"


def test_mixed_integers_and_floats_are_floats_and_mixed_text_is_a_string():
    types = infer_field_types([{"qty": "1", "price": "2", "note": "7"}, {"qty": "2.5", "price": "n/a", "note": True}])
    assert types == {"qty": "float", "price": "string", "note": "string"}


def test_a_field_seen_only_empty_is_a_string():
    assert infer_field_types([{"memory": None}, {"memory": ""}]) == {"memory": "string"}


@pytest.mark.parametrize("name", ["InvoiceNo", "CustomerID", "StockCode", "card_bin", "billing_zip", "EVENT_ID", "sku"])
def test_identifier_like_names_are_recognised(name):
    assert is_identifier_name(name)


@pytest.mark.parametrize("name", ["Quantity", "UnitPrice", "order_price", "bytes"])
def test_measures_are_not_identifiers(name):
    assert not is_identifier_name(name)
