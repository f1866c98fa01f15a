"""Where the shared real data sets live, and what SOURCES.md says about them."""

from pathlib import Path

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
