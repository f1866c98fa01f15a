"""Turning parsed records into index documents: canonical fields, coerced CSV numbers, safe key names."""

import math
import re
from collections.abc import Callable
from typing import NamedTuple

from ingestion import field_names
from ingestion.field_names import normalize_name, normalized
from ingestion.field_types import as_number, is_valid_ip
from ingestion.timestamps import ACCEPTED_RANGE, format_timestamp, in_accepted_range, parse_timestamp, read_timestamp

_MAX_QUOTED_VALUE = 100
_IP_KEYS = normalized(field_names.IP_FIELDS)
_AMOUNT_KEYS = normalized(field_names.AMOUNT_FIELDS)
_CURRENCY_KEYS = normalized(field_names.CURRENCY_FIELDS)
_USER_KEYS = normalized(field_names.USER_FIELDS)
_SESSION_KEYS = normalized(field_names.SESSION_FIELDS)
_QUANTITY_KEYS = normalized(field_names.QUANTITY_FIELDS)
_STATUS_KEYS = normalized(field_names.STATUS_FIELDS)
_ORDER_KEYS = normalized(field_names.ORDER_FIELDS)
_UNIT_PRICE_KEYS = frozenset(normalized(field_names.UNIT_PRICE_FIELDS))
# The UCI retail convention: a cancelled invoice is numbered like the original with a leading C ("C536383").
_CANCELLED_INVOICE = re.compile(r"[Cc]\d+")


class RecordError(ValueError):
    """A record that cannot become a document; the message is shown to the user."""


def _coerce(value: str, converter: Callable[[str], float]) -> object:
    try:
        number = converter(value)
    except ValueError:
        return value
    if converter is float and not math.isfinite(number):
        return value
    return number


def _renamed_keys(record: dict) -> dict[str, str] | None:
    """New names for keys Elasticsearch cannot take raw; None (the usual case) when all are fine."""
    joined = "\x00".join(record)
    if not ("." in joined or joined[:1] == "_" or "\x00_" in joined or "" in record):
        return None
    renames: dict[str, str] = {}
    taken = set(record)
    for key in record:
        if not key or key[0] == "_" or "." in key:
            # '.' reads as object nesting, and a leading '_' marks Elasticsearch's own metadata fields.
            safe = key.replace(".", "_").lstrip("_") or "field"
            while safe in taken:
                safe += "_"
            taken.add(safe)
            renames[key] = safe
    return renames


def _cleaned_children(container: dict | list) -> dict | None:
    """Cleaned versions of the nested containers that changed, by key or index."""
    items = container.items() if type(container) is dict else enumerate(container)
    nested = [(key, value) for key, value in items if type(value) is dict or type(value) is list]
    if not nested:
        return None
    changed = {key: cleaned for key, value in nested if (cleaned := _clean(value)) is not value}
    return changed or None


def _clean(value: dict | list) -> dict | list:
    """The value with safe keys at every depth; the same object when nothing had to change."""
    changed = _cleaned_children(value)
    if type(value) is list:
        if changed is None:
            return value
        copy = list(value)
        for index, cleaned in changed.items():
            copy[index] = cleaned
        return copy
    renames = _renamed_keys(value)
    if changed is None and renames is None:
        return value
    changed = changed or {}
    renames = renames or {}
    return {renames.get(key, key): changed.get(key, item) for key, item in value.items()}


def _top_level(record: dict, numeric: dict[str, Callable[[str], float]]) -> dict:
    document = dict(record)
    for key, converter in numeric.items():
        value = document.get(key)
        if type(value) is str:
            document[key] = _coerce(value, converter)
    changed = _cleaned_children(document)
    if changed:
        document.update(changed)
    renames = _renamed_keys(document)
    if renames:
        document = {renames.get(key, key): value for key, value in document.items()}
    return document


def event_time(record: dict, timestamp_field: str, *, day_first: bool = False) -> str:
    """The record's event time as stored ('2016-12-01T00:04:19.000Z'); a RecordError says why there is none."""
    value = record.get(timestamp_field)
    if value is None or value == "":
        raise RecordError(f"Missing timestamp field '{timestamp_field}'")
    moment = read_timestamp(value, day_first=day_first)
    if moment is None:
        raise RecordError(f"Unparseable timestamp '{_quoted(value)}' in field '{timestamp_field}'")
    if not in_accepted_range(moment):
        raise RecordError(
            f"Timestamp '{_quoted(value)}' in field '{timestamp_field}' is out of range (accepted: {ACCEPTED_RANGE})"
        )
    return format_timestamp(moment)


def _quoted(value: object) -> str:
    shown = str(value)
    return shown[:_MAX_QUOTED_VALUE] + "…" if len(shown) > _MAX_QUOTED_VALUE else shown


class _Layout(NamedTuple):
    """Which of a document's keys feed each canonical field, in priority order."""

    ip: tuple[str, ...]
    amount: tuple[str, ...]
    currency: tuple[str, ...]
    user_id: tuple[str, ...]
    session_id: tuple[str, ...]
    quantity: tuple[str, ...]
    status: tuple[str, ...]
    order: tuple[str, ...]


_layouts: dict[tuple[str, ...], _Layout] = {}
_MAX_LAYOUTS = 4096


def _layout(keys: tuple[str, ...]) -> _Layout:
    # Records of one upload share a handful of key sets, so the name matching is done once per set.
    layout = _layouts.get(keys)
    if layout is None:
        by_name: dict[str, str] = {}
        for key in keys:
            by_name.setdefault(normalize_name(key), key)

        def present(candidates: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(by_name[name] for name in candidates if name in by_name)

        layout = _Layout(
            present(_IP_KEYS),
            present(_AMOUNT_KEYS),
            present(_CURRENCY_KEYS),
            present(_USER_KEYS),
            present(_SESSION_KEYS),
            present(_QUANTITY_KEYS),
            present(_STATUS_KEYS),
            present(_ORDER_KEYS),
        )
        if len(_layouts) >= _MAX_LAYOUTS:
            _layouts.clear()
        _layouts[keys] = layout
    return layout


def _first_ip(document: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = document[key]
        if type(value) is str:
            # X-Forwarded-For lists the client first, then each proxy.
            value = value.split(",", 1)[0].strip()
            if is_valid_ip(value):
                return value
    return None


def _first_quantity(document: dict, layout: _Layout) -> float | None:
    return next((q for q in map(as_number, map(document.get, layout.quantity)) if q is not None), None)


def _first_amount(document: dict, layout: _Layout) -> float | None:
    """The first numeric amount field; a unit price with a quantity beside it gives the line amount."""
    for key in layout.amount:
        number = as_number(document[key])
        if number is None:
            continue
        if normalize_name(key) in _UNIT_PRICE_KEYS:
            quantity = _first_quantity(document, layout)
            if quantity is not None:
                # Rounded so that binary noise (0.1 * 3) does not leak into sums shown to the cent.
                return round(number * quantity, 6)
        return number
    return None


def _http_status(document: dict, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = document[key]
        if type(value) is str and value.strip().isdigit():
            value = int(value)
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is int and 100 <= value <= 599:
            return value
    return None


def _first_text(document: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = document[key]
        kind = type(value)
        if kind is str and value.strip():
            return value.strip()
        if kind is int:
            return str(value)
        if kind is float and value.is_integer():
            return str(int(value))
    return None


def _is_cancellation(document: dict, layout: _Layout, order_id: str | None) -> bool:
    """A returned or cancelled line: a negative amount or quantity, or a UCI-style "C" invoice number."""
    amount = as_number(document.get("amount"))
    quantity = _first_quantity(document, layout)
    return bool(
        (amount is not None and amount < 0)
        or (quantity is not None and quantity < 0)
        or (order_id is not None and _CANCELLED_INVOICE.fullmatch(order_id))
    )


def _set_orders(document: dict, layout: _Layout) -> None:
    """`order_id` (rows sharing one are one order's lines) and `cancellation`, on every event of a sale."""
    order_id = _first_text(document, layout.order)
    current = document.get("order_id")
    if order_id is not None:
        same = type(current) in (str, int, float) and str(current).strip() == order_id
        _set_canonical(document, "order_id", order_id, same)
    elif type(current) in (dict, list):
        document["order_id_original"] = document.pop("order_id")
    if order_id is None and as_number(document.get("amount")) is None:
        return
    cancellation = _is_cancellation(document, layout, order_id)
    _set_canonical(document, "cancellation", cancellation, document.get("cancellation") == cancellation)


def _set_canonical(document: dict, name: str, value: object, same: bool) -> None:
    """Write a canonical field, moving a same-named original aside unless it says the same thing."""
    if name in document and not same:
        document[f"{name}_original"] = document.pop(name)
    document[name] = value


def build_document(
    record: dict,
    *,
    timestamp_field: str,
    numeric: dict[str, Callable[[str], float]],
    log_type: str,
    day_first: bool = False,
) -> dict:
    """The document to index: the record's fields (safe names, CSV numbers coerced) plus canonical fields.

    `day_first` is the file's date order, so '01/12/2010' is 1 December in a European export.
    """
    timestamp = event_time(record, timestamp_field, day_first=day_first)
    document = _top_level(record, numeric)
    layout = _layout(tuple(document))

    original_timestamp = document.get("@timestamp")
    same_time = timestamp_field == "@timestamp" or (
        original_timestamp is not None and parse_timestamp(original_timestamp) == parse_timestamp(timestamp)
    )
    _set_canonical(document, "@timestamp", timestamp, same_time)
    _set_canonical(document, "log_type", log_type, document.get("log_type") == log_type)

    ip = _first_ip(document, layout.ip)
    if ip is not None:
        _set_canonical(document, "ip", ip, document.get("ip") == ip)
    elif "ip" in document:
        document["ip_original"] = document.pop("ip")

    current_amount = document.get("amount")
    if not (type(current_amount) in (int, float) and as_number(current_amount) is not None):
        amount = _first_amount(document, layout)
        if amount is not None:
            _set_canonical(document, "amount", amount, as_number(current_amount) == amount)
        elif "amount" in document:
            document["amount_original"] = document.pop("amount")

    status = _http_status(document, layout.status)
    if status is not None:
        _set_canonical(document, "http_status", status, document.get("http_status") == status)

    for name, keys, upper in (
        ("currency", layout.currency, True),
        ("user_id", layout.user_id, False),
        ("session_id", layout.session_id, False),
    ):
        value = _first_text(document, keys)
        current = document.get(name)
        if value is not None:
            value = value.upper() if upper else value
            same = type(current) in (str, int, float) and str(current).strip().upper() == value.upper()
            _set_canonical(document, name, value, same)
        elif type(current) in (dict, list):
            document[f"{name}_original"] = document.pop(name)
    _set_orders(document, layout)
    return document
