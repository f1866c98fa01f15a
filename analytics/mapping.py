"""What the indexed events look like: each field's type and the nested paths, merged over the daily indices."""

import time
from dataclasses import dataclass

from config.es import get_es
from ingestion.contract import TEXT_SUBFIELD, events_alias

# The mapping changes only when a file brings new fields; a short cache spares a request per panel.
_CACHE_SECONDS = 30
_cache: dict[str, tuple[float, "FieldMap"]] = {}


@dataclass(frozen=True)
class FieldMap:
    types: dict[str, str]  # "geo.country_iso_code" -> "keyword"
    nested: frozenset[str]  # "products"

    def nested_path(self, name: str) -> str | None:
        """The nested object a field lives in ("products" for "products.category"), if any."""
        parts = name.split(".")
        for end in range(len(parts) - 1, 0, -1):
            path = ".".join(parts[:end])
            if path in self.nested:
                return path
        return None

    def aggregatable(self, name: str) -> str | None:
        """The field to aggregate for `name`: itself, or its keyword twin when `name` is the full-text side."""
        kind = self.types.get(name)
        if kind is None:
            return None
        if kind == "text":
            parent = name.removesuffix(f".{TEXT_SUBFIELD}")
            return parent if parent != name and self.types.get(parent) == "keyword" else None
        return name if kind not in ("object", "nested", "geo_point") else None


def _walk(properties: dict, prefix: str, types: dict[str, str], nested: set[str]) -> None:
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        kind = spec.get("type", "object")
        types.setdefault(path, kind)
        if kind == "nested":
            nested.add(path)
        for sub_name, sub_spec in spec.get("fields", {}).items():
            types.setdefault(f"{path}.{sub_name}", sub_spec.get("type", "keyword"))
        if "properties" in spec:
            _walk(spec["properties"], f"{path}.", types, nested)


def field_map(*names: str, fresh: bool = False) -> FieldMap:
    """The merged mapping; read again when asked, when old, or when it lacks one of `names` (new in a file)."""
    alias = events_alias()
    cached = _cache.get(alias)
    if (
        cached
        and not fresh
        and time.monotonic() - cached[0] < _CACHE_SECONDS
        and all(name in cached[1].types for name in names)
    ):
        return cached[1]
    types: dict[str, str] = {}
    nested: set[str] = set()
    response = get_es().options(ignore_status=404).indices.get_mapping(index=alias)
    for index in response.body.values() if response.meta.status == 200 else ():
        _walk(index.get("mappings", {}).get("properties", {}), "", types, nested)
    fields = FieldMap(types=types, nested=frozenset(nested))
    _cache[alias] = (time.monotonic(), fields)
    return fields
