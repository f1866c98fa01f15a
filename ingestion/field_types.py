"""Field types of an upload, inferred from a sample of its records (shown on the job, used to coerce CSV numbers)."""

import ipaddress
import math
import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from ingestion.field_names import normalize_name
from ingestion.timestamps import find_timestamp_field, parse_timestamp

IDENTIFIER_HINTS = ("id", "no", "number", "code", "zip", "phone", "sku", "bin")
# European exports (';'-delimited, since the comma is the decimal mark) write 1.234,50 for 1234.5.
_DECIMAL_COMMA = re.compile(r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+")
_THOUSANDS_POINTS = re.compile(r"[-+]?\d{1,3}(?:\.\d{3})+")
# The types a column of such a file may mix and still be read with decimal commas: 24, 3,75 and 1.234.
_DECIMAL_COMMA_COLUMN = frozenset({"decimal_comma", "integer", "thousands_points"})


def is_identifier_name(name: str) -> bool:
    """Codes and numbers that look numeric but must not be summed or lose leading zeros."""
    return normalize_name(name).endswith(IDENTIFIER_HINTS)


@lru_cache(maxsize=65536)
def is_valid_ip(value: str) -> bool:
    # Scoped IPv6 ('fe80::1%eth0') is valid to Python but refused by Elasticsearch's ip type.
    if "%" in value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def as_number(value: object) -> float | None:
    if type(value) is int:
        return float(value)
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is str:
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def read_decimal_comma(value: str) -> float:
    """'3,75' -> 3.75 and '1.234,50' -> 1234.5; ValueError for anything else (the text is then kept as it is)."""
    text = value.strip()
    if _DECIMAL_COMMA.fullmatch(text) or _THOUSANDS_POINTS.fullmatch(text):
        return float(text.replace(".", "").replace(",", "."))
    return float(int(text))


def _string_type(name: str, value: str, timestamp_like: bool, decimal_comma: bool) -> str:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return "boolean"
    if timestamp_like and parse_timestamp(value) is not None:
        return "timestamp"
    if is_identifier_name(name):
        return "string"
    try:
        int(value)
        return "integer"
    except ValueError:
        pass
    if decimal_comma:
        if _DECIMAL_COMMA.fullmatch(value.strip()):
            return "decimal_comma"
        if _THOUSANDS_POINTS.fullmatch(value.strip()):
            return "thousands_points"
    if as_number(value) is not None and lowered not in ("nan", "inf", "-inf", "infinity"):
        return "float"
    if is_valid_ip(value.strip()):
        return "ip"
    return "string"


def _value_type(name: str, value: object, timestamp_like: bool, decimal_comma: bool) -> str | None:
    kind = type(value)
    if value is None:
        return None
    if kind is bool:
        return "boolean"
    if kind is int or kind is float:
        if timestamp_like and parse_timestamp(value) is not None:
            return "timestamp"
        return "integer" if kind is int else "float"
    if kind is str:
        return _string_type(name, value, timestamp_like, decimal_comma) if value else None
    if kind is dict:
        return "object"
    if kind is list:
        return "array"
    return "string"


def _merge_types(seen: set[str]) -> str:
    if "decimal_comma" in seen and seen <= _DECIMAL_COMMA_COLUMN:
        return "decimal_comma"
    # Without a decimal comma anywhere in the column, 1.234 reads as it does everywhere else.
    seen = {"float" if kind == "thousands_points" else kind for kind in seen}
    if len(seen) == 1:
        return next(iter(seen))
    if seen == {"integer", "float"}:
        return "float"
    return "string"


def infer_field_types(records: Iterable[dict], *, decimal_comma: bool = False) -> dict[str, str]:
    """One type per field over a sample of records; fields that disagree fall back to "string".

    With `decimal_comma` (a ';'-delimited CSV), a column written consistently as 3,75 or 1.234,50 (whole
    numbers allowed beside them) is of type "decimal_comma".
    """
    seen: dict[str, set[str]] = {}
    timestamp_like: dict[str, bool] = {}
    for record in records:
        for name, value in record.items():
            if name not in timestamp_like:
                timestamp_like[name] = find_timestamp_field([name]) is not None
            kind = _value_type(name, value, timestamp_like[name], decimal_comma)
            kinds = seen.setdefault(name, set())
            if kind is not None:
                kinds.add(kind)
    return {name: _merge_types(kinds) if kinds else "string" for name, kinds in seen.items()}


def numeric_columns(types: dict[str, str]) -> dict[str, Callable[[str], float]]:
    """CSV columns whose text values are turned into numbers before indexing, with the reader of each."""
    converters = {"integer": int, "float": float, "decimal_comma": read_decimal_comma}
    return {
        name: converters[kind] for name, kind in types.items() if kind in converters and not is_identifier_name(name)
    }
