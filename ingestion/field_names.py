"""Field-name conventions: how a file's own column names map to the canonical fields.

Ingestion uses them to fill the canonical fields of a document; analytics and fraud rules use the same
lists to find a customer, card, amount or country in any data set.
"""

from functools import lru_cache

_SEPARATORS = str.maketrans("", "", "_-@ .")

IP_FIELDS = (
    "ip",
    "client_ip",
    "clientip",
    "remote_addr",
    "remote_ip",
    "ip_address",
    "source_ip",
    "src_ip",
    "user_ip",
    "customer_ip",
    "x_forwarded_for",
)
AMOUNT_FIELDS = (
    "amount",
    "total_amount",
    "order_total",
    "taxful_total_price",
    "order_price",
    "total",
    "price",
    "unit_price",
)
# An amount read from one of these is per unit: with a quantity beside it, the line amount is the product.
UNIT_PRICE_FIELDS = ("price", "unit_price", "unitprice")
QUANTITY_FIELDS = ("quantity", "qty")
CURRENCY_FIELDS = ("currency", "payment_currency", "currency_code")
# An order's id: rows sharing one are the line items of one order (UCI retail: one row per InvoiceNo line).
ORDER_FIELDS = (
    "order_id",
    "order_number",
    "order_no",
    "invoice_no",
    "invoice_number",
    "invoice_id",
    "invoice",
    "transaction_id",
)
USER_FIELDS = ("user_id", "userid", "customer_id", "customerid", "client_id", "entity_id", "user")
SESSION_FIELDS = ("session_id", "sessionid", "session")
CARD_FIELDS = ("card_id", "card_number", "card_hash", "card_token", "card_bin", "card", "pan_hash")
DEVICE_FIELDS = ("device_id", "device", "user_agent", "useragent", "agent")
# The row's own country, which places an event on the map when its IP cannot.
COUNTRY_FIELDS = ("country", "country_code", "country_name", "shipping_country", "billing_country")
BILLING_COUNTRY_FIELDS = ("billing_country", "shipping_country", "country_code", "country")
STATUS_FIELDS = ("status_code", "http_status", "response", "status")
DECLINE_FIELDS = ("payment_status", "decision", "outcome", "result", "status")
CATEGORY_FIELDS = ("product_category", "category", "category_name")
# The order (or invoice) a row belongs to: a file with one row per line item repeats it on every line.
ORDER_FIELDS = ("order_id", "order_number", "order_no", "invoice_no", "invoice_id", "invoice_number", "invoice")
# Arrays of line items: each element is an object with its own category and price.
LINE_ITEM_FIELDS = ("products", "items", "line_items", "order_items")
# Fields that hold a verdict; rules must never read them.
LABEL_FIELDS = ("event_label", "label", "is_fraud", "isfraud", "fraud", "fraud_label")


@lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """Field names compare case-insensitively, ignoring '_', '-', '@', '.' and spaces."""
    return name.lower().translate(_SEPARATORS)


def normalized(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_name(name) for name in names))


def find_field(fields: list[str] | tuple[str, ...], candidates: tuple[str, ...]) -> str | None:
    """The first of `fields` matching a candidate name, in the candidates' order of priority."""
    by_name: dict[str, str] = {}
    for field in fields:
        by_name.setdefault(normalize_name(field), field)
    for candidate in normalized(candidates):
        if candidate in by_name:
            return by_name[candidate]
    return None
