"""Field type inference over real records."""

import pytest

from ingestion.field_types import infer_field_types, is_identifier_name, numeric_columns, read_decimal_comma
from ingestion.formats import detect_format
from ingestion.parsers import csv as csv_parser
from tests.datafiles import FRAUD_TRANSACTIONS, ONLINE_RETAIL_FRANCE, WEB_ACCESS_LOGS, csv_records, first_json_record
from tests.helpers import european_export


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


def european_records() -> list[dict]:
    data = european_export()
    fmt = detect_format("retail_fr.csv", data)
    return [record for _, record, _, _ in csv_parser.parse_chunk(data, fmt, first_line=1, skip_header=True)]


def test_a_semicolon_export_with_decimal_commas_has_decimal_comma_prices_and_whole_quantities():
    types = infer_field_types(european_records(), decimal_comma=True)

    assert types["UnitPrice"] == "decimal_comma"
    assert types["Quantity"] == "integer"
    assert types["CustomerID"] == types["InvoiceNo"] == "string"
    assert numeric_columns(types) == {"Quantity": int, "UnitPrice": read_decimal_comma}


def test_decimal_commas_are_text_unless_the_file_is_a_semicolon_export():
    assert infer_field_types(european_records())["UnitPrice"] == "string"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["3,75", "18", "1.136,30"], "decimal_comma"),
        (["3,75", "1.136"], "decimal_comma"),  # a thousands point beside decimal commas is one
        (["1.136", "2.500"], "float"),  # without a decimal comma anywhere, 1.136 reads as everywhere else
        (["3,75", "3.75"], "string"),  # not written one way: left as text
        (["3,75", "n/a"], "string"),
        (["18", "24"], "integer"),
    ],
)
def test_a_column_is_read_with_decimal_commas_only_when_written_that_way_throughout(values, expected):
    assert infer_field_types([{"UnitPrice": value} for value in values], decimal_comma=True) == {"UnitPrice": expected}


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("3,75", 3.75),
        ("-0,42", -0.42),
        ("1.136,30", 1136.3),
        ("1.234.567,5", 1234567.5),
        ("18", 18.0),
        ("1.136", 1136.0),
    ],
)
def test_decimal_comma_numbers_are_read_as_they_are_meant(text, number):
    assert read_decimal_comma(text) == number


@pytest.mark.parametrize("text", ["3.75", "3,75 EUR", "1,136,30", "n/a", ""])
def test_anything_else_in_a_decimal_comma_column_is_not_a_number(text):
    with pytest.raises(ValueError):
        read_decimal_comma(text)
