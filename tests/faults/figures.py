"""The fault tests' own figures (recovery time, rows lost, duplicates), one JSON line per case, for the README table."""

from pathlib import Path

import orjson

FIGURES = Path(__file__).resolve().parents[2] / "var" / "test" / "fault-figures.txt"


def start() -> None:
    """Each run writes its own figures."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text("")


def record(case: str, **figures) -> None:
    with FIGURES.open("a") as out:
        out.write(orjson.dumps({"case": case, **figures}).decode() + "\n")
