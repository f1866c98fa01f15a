"""Finding the event-time field of a record and turning its value into an aware UTC datetime."""

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from ingestion.field_names import normalize_name

TIMESTAMP_FIELD_NAMES = (
    "@timestamp",
    "timestamp",
    "event_timestamp",
    "event_time",
    "eventtime",
    "time",
    "date",
    "datetime",
    "order_date",
    "invoicedate",
    "created_at",
    "createdat",
    "utc_time",
    "ts",
    "logtime",
)

_MIN_YEAR = 1970
_MAX_YEAR = 2100
# Said to users whose timestamps fall outside it (daily indices are named by a four-digit year).
ACCEPTED_RANGE = f"{_MIN_YEAR}-01-01 to {_MAX_YEAR}-12-31"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_PRIORITY = {normalize_name(name): rank for rank, name in reversed(list(enumerate(TIMESTAMP_FIELD_NAMES)))}


def find_timestamp_field(fields: Iterable[str]) -> str | None:
    """The field most likely to hold the event time, judged by its name only."""
    fields = list(fields)
    ranked = [
        # '@timestamp' and 'timestamp' normalise alike; the Elastic convention wins the tie.
        (_PRIORITY[normalize_name(field)], not field.startswith("@"), position, field)
        for position, field in enumerate(fields)
        if normalize_name(field) in _PRIORITY
    ]
    if ranked:
        return min(ranked)[3]
    for field in fields:
        if "timestamp" in normalize_name(field):
            return field
    for field in fields:
        lowered = field.lower()
        if normalize_name(field).endswith(("time", "date")) or lowered.endswith(("_at", "-at", " at")):
            return field
        if field.endswith("At") and len(field) > 2:
            return field
    return None


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    if moment.utcoffset():
        return moment.astimezone(UTC)
    return moment if moment.tzinfo is UTC else moment.replace(tzinfo=UTC)


def in_accepted_range(moment: datetime) -> bool:
    """Whether a UTC time falls between 1970 and 2100, the years an event may have."""
    return _MIN_YEAR <= moment.year <= _MAX_YEAR


def _from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number):
        return None
    if abs(number) >= 1e14:
        number /= 1e6
    elif abs(number) >= 1e11:
        number /= 1e3
    try:
        return _EPOCH + timedelta(seconds=number)
    except OverflowError:
        # Beyond what a datetime holds is still a time, just far out of range.
        return (datetime.max if number > 0 else datetime.min).replace(tzinfo=UTC)


def _parse_offset(text: str) -> timezone | None:
    """'+0000', '-05:00', 'Z'; None when it is none of these."""
    if text in ("Z", "UTC", "GMT"):
        return UTC
    sign = {"+": 1, "-": -1}.get(text[:1])
    digits = text[1:].replace(":", "")
    if sign is None or len(digits) != 4 or not digits.isdigit():
        return None
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _parse_clock(text: str) -> tuple[int, int, int, int]:
    """'8:45', '08:45:03', '08:45:03.120' -> hour, minute, second, microsecond."""
    seconds, _, fraction = text.partition(".")
    parts = seconds.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(text)
    hour, minute = int(parts[0]), int(parts[1])
    second = int(parts[2]) if len(parts) == 3 else 0
    micro = int((fraction + "000000")[:6]) if fraction else 0
    return hour, minute, second, micro


def _parse_apache(text: str) -> datetime | None:
    """'17/May/2015:10:05:03 +0000', the common/combined log format."""
    stamp, _, offset = text.partition(" ")
    date, _, clock = stamp.partition(":")
    day, month, year = date.split("/")
    zone = _parse_offset(offset) if offset else UTC
    if zone is None:
        return None
    hour, minute, second, micro = _parse_clock(clock)
    return datetime(int(year), _MONTHS[month.lower()], int(day), hour, minute, second, micro, tzinfo=zone)


def _parse_numeric_date(text: str, separator: str, day_first: bool) -> datetime | None:
    """'12/1/2010 8:45' (US order unless `day_first` or the first number exceeds 12), '2010/12/01 08:45:00',
    '01.12.2010 08:45' (with points, always day first: no one writes the month first that way)."""
    date, _, rest = text.partition(" ")
    first, second, third = date.split(separator)
    if len(first) == 4:
        year, month, day = int(first), int(second), int(third)
    else:
        month, day, year = int(first), int(second), int(third)
        if day_first or separator == "." or month > 12:
            month, day = day, month
    if not rest:
        return datetime(year, month, day)
    clock, _, suffix = rest.strip().partition(" ")
    hour, minute, second_, micro = _parse_clock(clock)
    suffix = suffix.strip().upper()
    if suffix in ("AM", "PM"):
        hour = hour % 12 + (12 if suffix == "PM" else 0)
    elif suffix and _parse_offset(suffix) is None:
        return None
    zone = _parse_offset(suffix) if suffix not in ("", "AM", "PM") else None
    return datetime(year, month, day, hour, minute, second_, micro, tzinfo=zone)


def _parse_text(text: str, day_first: bool) -> datetime | None:
    head = text[:1]
    if head == "[" and text.endswith("]"):
        return _parse_text(text[1:-1].strip(), day_first)
    if head.isdigit() or head in "+-":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
        try:
            return _from_epoch(float(text))
        except ValueError:
            pass
        if text.endswith((" UTC", " GMT")):
            try:
                return datetime.fromisoformat(text[:-4]).replace(tzinfo=UTC)
            except ValueError:
                pass
        parts = text.split("/", 2)
        if len(parts) == 3:
            return _parse_apache(text) if parts[1][:3].isalpha() else _parse_numeric_date(text, "/", day_first)
        if len(text.partition(" ")[0].split(".")) == 3:
            return _parse_numeric_date(text, ".", day_first)
    return parsedate_to_datetime(text)


def read_timestamp(value: object, *, day_first: bool = False) -> datetime | None:
    """An aware UTC datetime of any year, or None when the value is not a time at all.

    `day_first` reads an ambiguous '01/12/2010' as 1 December (the file's own convention), not 12 January.
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            return _from_epoch(float(value))
        if isinstance(value, datetime):
            return _as_utc(value)
        if not isinstance(value, str):
            return None
        text = value.strip()
        parsed = _parse_text(text, day_first) if text else None
        return _as_utc(parsed) if parsed is not None else None
    except (ValueError, KeyError, TypeError, IndexError, OverflowError):
        return None


def parse_timestamp(value: object, *, day_first: bool = False) -> datetime | None:
    """An aware UTC datetime, or None when the value is not a time between 1970 and 2100."""
    moment = read_timestamp(value, day_first=day_first)
    return moment if moment is not None and in_accepted_range(moment) else None


def _leading_numbers(value: object) -> tuple[int, int] | None:
    """The first two numbers of a 'D/M/YYYY' or 'M/D/YYYY' date (slashes or points); None for any other value."""
    if not isinstance(value, str):
        return None
    date = value.strip().lstrip("[").partition(" ")[0]
    for separator in "/.":
        parts = date.split(separator)
        if len(parts) == 3 and len(parts[0]) <= 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[0]), int(parts[1])
    return None


def reads_day_first(values: Iterable[object]) -> bool:
    """Whether a file's dates put the day first, judged from a sample of its time values.

    A first number above 12 is a day, and so is a second one (then the month comes first). A sample that never
    says, or says both, keeps the month first as before: only a file's own dates can tell 01/12 from 12/01.
    """
    day_first = month_first = False
    for value in values:
        numbers = _leading_numbers(value)
        if numbers is not None:
            day_first = day_first or numbers[0] > 12
            month_first = month_first or numbers[1] > 12
    return day_first and not month_first


def format_timestamp(moment: datetime) -> str:
    """'2016-12-01T00:04:19.000Z': UTC with milliseconds, as Elasticsearch stores it."""
    if moment.tzinfo is not None and moment.utcoffset():
        moment = moment.astimezone(UTC)
    # %-formatting is several times faster than strftime or isoformat plus string surgery.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 1000,
    )
