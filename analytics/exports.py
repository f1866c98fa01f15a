"""Exports of matching events as CSV (formula-safe) or NDJSON, produced line by line for a streamed response."""

import itertools
from collections.abc import Iterator

import orjson

from config.spreadsheets import csv_lines
from ingestion.contract import CANONICAL_FIELDS

# The CSV header is taken from the fields of the first this-many hits; later fields go to `other_fields`.
HEADER_SAMPLE = 5000
# Column names this export writes itself, never taken from a file: the header shows them as they are.
OWN_COLUMNS = frozenset({"id", "index", "other_fields", *CANONICAL_FIELDS})


def flatten(source: dict, prefix: str = "") -> dict[str, object]:
    """Nested objects become dotted columns; arrays stay whole (as JSON text in the cell)."""
    flat: dict[str, object] = {}
    for key, value in source.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _cell(value: object) -> object:
    return orjson.dumps(value).decode() if isinstance(value, list | dict) else value


def csv_export(hits: Iterator[dict]) -> Iterator[str]:
    sample = [(hit, flatten(hit["_source"])) for hit in itertools.islice(hits, HEADER_SAMPLE)]
    seen = dict.fromkeys(name for _hit, flat in sample for name in flat)
    columns = [name for name in CANONICAL_FIELDS if name in seen] + sorted(set(seen) - set(CANONICAL_FIELDS))
    known = set(columns)

    def rows() -> Iterator[list]:
        for hit, flat in itertools.chain(sample, ((hit, flatten(hit["_source"])) for hit in hits)):
            extra = {name: value for name, value in flat.items() if name not in known}
            yield [
                hit["_id"],
                hit["_index"],
                *(_cell(flat.get(name)) for name in columns),
                orjson.dumps(extra).decode() if extra else "",
            ]

    return csv_lines(["id", "index", *columns, "other_fields"], rows(), own_names=OWN_COLUMNS)


def ndjson_export(hits: Iterator[dict]) -> Iterator[bytes]:
    for hit in hits:
        yield orjson.dumps(
            {"_id": hit["_id"], "_index": hit["_index"], **hit["_source"]}, option=orjson.OPT_APPEND_NEWLINE
        )
