"""Guessing the log type of real files from their field names."""

import pytest

from ingestion.formats import detect_format
from ingestion.log_types import guess_log_type
from tests.datafiles import (
    ECOMMERCE_ORDERS,
    FRAUD_TRANSACTIONS,
    ONLINE_RETAIL_FRANCE,
    WEB_ACCESS_LOGS,
    first_json_record,
)


@pytest.mark.parametrize(
    ("path", "log_type"),
    [
        (ECOMMERCE_ORDERS, "order"),
        (WEB_ACCESS_LOGS, "access"),
        (ONLINE_RETAIL_FRANCE, "order"),
        (FRAUD_TRANSACTIONS, "transaction"),
    ],
)
def test_it_guesses_the_log_type_of_each_real_file(path, log_type):
    if path.suffix == ".csv":
        fields = detect_format(path.name, path.read_bytes()[: 2**20]).header
    else:
        fields = first_json_record(path).keys()
    assert guess_log_type(fields) == log_type


@pytest.mark.parametrize(
    ("fields", "log_type"),
    [
        (["timestamp", "level", "message", "stack"], "error"),
        (["timestamp", "page", "referrer", "session_id"], "page_view"),
        (["timestamp", "temperature", "sensor"], "event"),
    ],
)
def test_it_guesses_other_log_types_from_field_names(fields, log_type):
    assert guess_log_type(fields) == log_type
