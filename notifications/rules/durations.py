"""Durations as people write them in rules ("90s", "5m", "1h", "7d"), to seconds and back."""

import re

from config.errors import ApplicationError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d{1,7})\s*([smhd])")


def seconds_from(text: str, *, name: str, minimum: int, maximum: int, zero: bool = False) -> int:
    """Seconds in "5m"; a sentence naming the setting when it is not a duration or out of bounds.

    With `zero`, "0" (no unit) is accepted and means none.
    """
    value = str(text).strip().lower()
    if zero and value in ("0", "0s", "0m", "0h", "0d"):
        return 0
    match = _DURATION.fullmatch(value)
    if not match:
        raise ApplicationError(f"{name}: use a number and a unit such as 5m, 1h or 1d")
    seconds = int(match[1]) * UNITS[match[2]]
    if not minimum <= seconds <= maximum:
        raise ApplicationError(f"{name}: from {duration_text(minimum)} to {duration_text(maximum)}, not {value}")
    return seconds


def duration_text(seconds: int) -> str:
    """The largest whole unit: 300 -> "5m", 5400 -> "90m", 0 -> "0"."""
    if seconds == 0:
        return "0"
    for unit in ("d", "h", "m"):
        if seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"
