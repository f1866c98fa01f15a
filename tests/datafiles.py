"""Where the shared real data sets live, and what SOURCES.md says about them."""

from pathlib import Path

import orjson

from ingestion.formats import detect_format
from ingestion.parsers import csv as csv_parser

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

ECOMMERCE_ORDERS = DATA_DIR / "ecommerce_orders.ndjson"
WEB_ACCESS_LOGS = DATA_DIR / "web_access_logs.ndjson"
ONLINE_RETAIL_FRANCE = DATA_DIR / "online_retail_france.csv"
FRAUD_TRANSACTIONS = DATA_DIR / "fraud_transactions_2k.csv"
APACHE_ACCESS_LOG = DATA_DIR / "apache_access_combined.log"

RECORD_COUNTS = {
    ECOMMERCE_ORDERS: 4_675,
    WEB_ACCESS_LOGS: 14_074,
    ONLINE_RETAIL_FRANCE: 8_557,
    FRAUD_TRANSACTIONS: 1_611,
}

HEAD_BYTES = 2**20


def head_of(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(HEAD_BYTES)


def first_json_record(path: Path) -> dict:
    with path.open("rb") as stream:
        return orjson.loads(stream.readline())


def csv_records(path: Path, limit: int | None = None):
    """The file's format and its parsed records (the first `limit` of them)."""
    data = path.read_bytes()
    fmt = detect_format(path.name, data[:HEAD_BYTES])
    rows = csv_parser.parse_chunk(data, fmt, first_line=1, skip_header=True)
    records = [record for _, record, _, _ in rows if record is not None]
    return fmt, records[:limit]
