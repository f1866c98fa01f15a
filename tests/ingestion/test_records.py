"""Building index documents from real records: canonical fields, coerced numbers, safe keys."""

import pytest

from ingestion.field_types import read_decimal_comma
from ingestion.parsers.access_log import parse_line
from ingestion.records import RecordError, build_document
from tests.datafiles import (
    APACHE_ACCESS_LOG,
    ECOMMERCE_ORDERS,
    FRAUD_TRANSACTIONS,
    ONLINE_RETAIL_FRANCE,
    WEB_ACCESS_LOGS,
    csv_records,
    first_json_record,
)


def test_it_builds_a_document_from_a_real_ecommerce_order():
    record = first_json_record(ECOMMERCE_ORDERS)
    document = build_document(record, timestamp_field="order_date", numeric={}, log_type="order")
    assert document["@timestamp"] == "2016-12-26T09:28:48.000Z"
    assert document["log_type"] == "order"
    assert document["amount"] == 36.98
    assert document["currency"] == "EUR"
    assert document["user_id"] == "38"
    assert "ip" not in document
    assert document["geoip"] == record["geoip"]
    # Kibana's products carry '_id', which Elasticsearch reserves.
    assert document["products"][0]["id"] == "sold_product_584677_6283"
    assert all("_id" not in product for product in document["products"])
    assert record["products"][0]["_id"] == "sold_product_584677_6283"


def test_it_builds_a_document_from_a_real_web_log_line():
    record = first_json_record(WEB_ACCESS_LOGS)
    document = build_document(record, timestamp_field="timestamp", numeric={}, log_type="access")
    assert document["@timestamp"] == "2018-07-22T00:39:02.912Z"
    assert document["ip"] == "223.87.60.27"
    assert "ip_original" not in document
    assert document["machine"] == {"ram": 8589934592, "os": "win 8"}
    assert "amount" not in document


def test_it_coerces_numeric_csv_columns_from_the_real_retail_file():
    _, records = csv_records(ONLINE_RETAIL_FRANCE, limit=1)
    numeric = {"Quantity": int, "UnitPrice": float}
    document = build_document(records[0], timestamp_field="InvoiceDate", numeric=numeric, log_type="order")
    assert document["@timestamp"] == "2010-12-01T08:45:00.000Z"
    assert document["Quantity"] == 24
    assert document["UnitPrice"] == 3.75
    assert document["InvoiceNo"] == "536370"
    assert document["amount"] == 90.0  # the line amount: 24 x 3.75
    assert document["user_id"] == "12583"


def test_it_builds_a_document_from_a_real_fraud_transaction():
    _, records = csv_records(FRAUD_TRANSACTIONS, limit=1)
    numeric = {"order_price": float, "EVENT_LABEL": int}
    document = build_document(records[0], timestamp_field="EVENT_TIMESTAMP", numeric=numeric, log_type="transaction")
    assert document["@timestamp"] == "2022-12-24T15:53:30.000Z"
    assert document["ip"] == "25.45.36.165"
    assert document["amount"] == 7.53
    assert document["currency"] == "BIF"
    assert document["user_id"] == "070-69-2161"
    assert document["EVENT_LABEL"] == 0


def test_a_value_that_does_not_parse_stays_a_string():
    record = {"ts": "2022-11-07T15:18:25Z", "Quantity": "twelve"}
    document = build_document(record, timestamp_field="ts", numeric={"Quantity": int}, log_type="event")
    assert document["Quantity"] == "twelve"


def test_a_missing_timestamp_is_a_record_error():
    with pytest.raises(RecordError, match="Missing timestamp field 'order_date'"):
        build_document({"order_id": 1}, timestamp_field="order_date", numeric={}, log_type="order")


def test_an_unparseable_timestamp_is_a_record_error_quoting_the_value():
    with pytest.raises(RecordError, match="Unparseable timestamp 'last tuesday' in field 'order_date'"):
        build_document({"order_date": "last tuesday"}, timestamp_field="order_date", numeric={}, log_type="order")


@pytest.mark.parametrize("value", ["1969-07-20T20:17:40Z", "2150-01-01", -14_182_940])
def test_a_timestamp_outside_the_accepted_years_is_out_of_range_not_unparseable(value):
    with pytest.raises(RecordError) as raised:
        build_document({"order_date": value}, timestamp_field="order_date", numeric={}, log_type="order")

    assert str(raised.value) == (
        f"Timestamp '{value}' in field 'order_date' is out of range (accepted: 1970-01-01 to 2100-12-31)"
    )


def test_an_invalid_ip_moves_aside_for_a_valid_one():
    record = {"ts": 1532219942912, "ip": "unknown", "X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
    document = build_document(record, timestamp_field="ts", numeric={}, log_type="access")
    assert document["ip"] == "203.0.113.9"
    assert document["ip_original"] == "unknown"


def test_an_invalid_ip_with_no_replacement_is_still_moved_aside():
    document = build_document({"ts": 1532219942, "ip": "-"}, timestamp_field="ts", numeric={}, log_type="access")
    assert "ip" not in document
    assert document["ip_original"] == "-"


def test_an_ipv6_client_address_is_kept():
    record = {"ts": 1532219942, "remote_addr": "2001:db8::1"}
    assert build_document(record, timestamp_field="ts", numeric={}, log_type="access")["ip"] == "2001:db8::1"


def test_a_non_numeric_amount_moves_aside_and_a_price_fills_in():
    record = {"ts": 1532219942, "amount": "n/a", "unit_price": "4.25", "Currency": "eur"}
    document = build_document(record, timestamp_field="ts", numeric={}, log_type="order")
    assert document["amount"] == 4.25
    assert document["amount_original"] == "n/a"
    assert document["currency"] == "EUR"


def test_a_numeric_amount_is_left_alone():
    record = {"ts": 1532219942, "amount": 12, "price": 3.5}
    assert build_document(record, timestamp_field="ts", numeric={}, log_type="order")["amount"] == 12


def test_an_object_in_a_canonical_field_moves_aside():
    record = {"ts": 1532219942, "user_id": {"name": "eddie"}, "session": 991}
    document = build_document(record, timestamp_field="ts", numeric={}, log_type="event")
    assert document["user_id_original"] == {"name": "eddie"}
    assert "user_id" not in document
    assert document["session_id"] == "991"


def test_dotted_and_underscored_keys_are_made_safe_at_every_depth():
    record = {
        "ts": 1532219942,
        "_source": "app",
        "http.status": 200,
        "items": [{"_id": "a", "meta": {"k.v": 1}}, [{"_x": 2}]],
    }
    document = build_document(record, timestamp_field="ts", numeric={}, log_type="event")
    assert document["source"] == "app"
    assert document["http_status"] == 200
    assert document["items"] == [{"id": "a", "meta": {"k_v": 1}}, [{"x": 2}]]


def test_a_renamed_key_does_not_overwrite_an_existing_one():
    record = {"ts": 1532219942, "_id": "meta", "id": "real"}
    document = build_document(record, timestamp_field="ts", numeric={}, log_type="event")
    assert document["id"] == "real"
    assert document["id_"] == "meta"


def test_an_existing_timestamp_field_with_other_content_moves_aside():
    record = {"@timestamp": "2020-01-01T00:00:00Z", "event_time": "2022-11-07T15:18:25Z"}
    document = build_document(record, timestamp_field="event_time", numeric={}, log_type="event")
    assert document["@timestamp"] == "2022-11-07T15:18:25.000Z"
    assert document["@timestamp_original"] == "2020-01-01T00:00:00Z"


def test_a_line_amount_is_unit_price_times_quantity_even_for_a_cancellation():
    record = {"InvoiceDate": "12/1/2010 14:33", "InvoiceNo": "C536548", "Quantity": "-2", "UnitPrice": "7.95"}

    document = build_document(
        record, timestamp_field="InvoiceDate", numeric={"Quantity": int, "UnitPrice": float}, log_type="order"
    )

    assert document["amount"] == -15.9


def test_an_order_total_is_not_multiplied_by_the_quantity():
    record = first_json_record(ECOMMERCE_ORDERS)

    document = build_document(record, timestamp_field="order_date", numeric={}, log_type="order")

    assert record["total_quantity"] == 2
    assert document["amount"] == record["taxful_total_price"]


def test_the_http_status_of_an_access_log_line_is_a_canonical_number():
    document = build_document(
        first_json_record(WEB_ACCESS_LOGS), timestamp_field="timestamp", numeric={}, log_type="access"
    )

    assert document["http_status"] == 200


@pytest.mark.parametrize("value", ["OK", "paid", 42, 1200, True])
def test_a_status_that_is_not_an_http_code_is_not_taken(value):
    document = build_document(
        {"timestamp": "2024-05-01T10:00:00Z", "status": value},
        timestamp_field="timestamp",
        numeric={},
        log_type="event",
    )

    assert "http_status" not in document


def _retail_documents() -> list[dict]:
    _, records = csv_records(ONLINE_RETAIL_FRANCE)
    numeric = {"Quantity": int, "UnitPrice": float}
    return [build_document(r, timestamp_field="InvoiceDate", numeric=numeric, log_type="order") for r in records]


def test_every_retail_line_names_its_invoice_as_its_order():
    documents = _retail_documents()

    assert len(documents) == 8_557
    assert documents[0]["order_id"] == "536370"
    assert documents[0]["cancellation"] is False
    # 8,557 lines of 392 orders and 69 cancelled invoices, as counted from the file itself.
    assert len({d["order_id"] for d in documents if not d["cancellation"]}) == 392
    assert len({d["order_id"] for d in documents if d["cancellation"]}) == 69


def test_a_c_invoice_or_a_negative_quantity_is_a_cancellation():
    cancelled = [d for d in _retail_documents() if d["cancellation"]]

    assert len(cancelled) == 149
    assert all(d["order_id"].startswith("C") and d["Quantity"] < 0 for d in cancelled)
    assert round(sum(d["amount"] for d in cancelled), 2) == -12_311.21


@pytest.mark.parametrize(
    ("record", "cancelled"),
    [
        ({"invoice_no": "C1001", "amount": 12.5}, True),
        ({"invoice_no": "1001", "quantity": -1, "unit_price": 3}, True),
        ({"transaction_id": "t-9", "amount": -4.0}, True),
        ({"order_number": "CA-77", "amount": 4.0}, False),
        ({"amount": 4.0}, False),
    ],
)
def test_cancellation_is_read_from_the_invoice_number_the_quantity_or_the_amount(record, cancelled):
    document = build_document(
        {"ts": "2024-05-01T10:00:00Z", **record}, timestamp_field="ts", numeric={}, log_type="order"
    )

    assert document["cancellation"] is cancelled


def test_a_numeric_order_id_becomes_its_text_without_moving_the_original_aside():
    document = build_document(
        first_json_record(ECOMMERCE_ORDERS), timestamp_field="order_date", numeric={}, log_type="order"
    )

    assert document["order_id"] == "584677"
    assert "order_id_original" not in document
    assert document["cancellation"] is False


def test_an_event_without_amount_or_order_carries_no_order_fields():
    document = build_document(
        first_json_record(WEB_ACCESS_LOGS), timestamp_field="timestamp", numeric={}, log_type="access"
    )

    assert "order_id" not in document
    assert "cancellation" not in document


def test_a_european_line_item_gets_its_price_its_amount_and_its_day():
    record = {
        "InvoiceNo": "548914",
        "Quantity": "2",
        "InvoiceDate": "05/04/2011 09:46",
        "UnitPrice": "1.136,30",
        "CustomerID": "12669",
    }
    document = build_document(
        record,
        timestamp_field="InvoiceDate",
        numeric={"Quantity": int, "UnitPrice": read_decimal_comma},
        log_type="order",
        day_first=True,
    )
    assert document["UnitPrice"] == 1136.3
    assert document["amount"] == 2272.6
    assert document["@timestamp"] == "2011-04-05T09:46:00.000Z"


def test_a_decimal_comma_column_keeps_a_value_written_otherwise_as_text():
    document = build_document(
        {"timestamp": "2011-04-05T09:46:00Z", "UnitPrice": "3,75 EUR"},
        timestamp_field="timestamp",
        numeric={"UnitPrice": read_decimal_comma},
        log_type="order",
    )
    assert document["UnitPrice"] == "3,75 EUR"


def test_it_builds_a_document_from_a_real_apache_log_line():
    with APACHE_ACCESS_LOG.open() as lines:
        record = parse_line(lines.readline().rstrip("\n"))
    document = build_document(record, timestamp_field="timestamp", numeric={}, log_type="access")
    assert document["@timestamp"] == "2015-05-17T10:05:03.000Z"
    assert document["ip"] == "83.149.9.216"
    assert document["http_status"] == 200
    assert document["bytes"] == 203023
    assert document["method"] == "GET"
