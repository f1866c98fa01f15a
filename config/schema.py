"""OpenAPI schema hooks: what DRF does for every operation, written into the schema once (drf-spectacular)."""

from collections.abc import Iterator

# The one error shape (config.errors.ErrorSerializer), as drf-spectacular names its component.
ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def _operations(result: dict) -> Iterator[dict]:
    for path in result["paths"].values():
        yield from path.values()


def _is_array(parameter: dict) -> bool:
    return parameter.get("schema", {}).get("type") == "array"


def optional_query_values_may_be_empty(result: dict, **_context) -> dict:
    """An optional query parameter sent empty (`sort=`, as a form sends it) reads as absent: the schema says so.

    DRF's serializers give an empty optional query value their default, and the search filters skip empty values.
    """
    for operation in _operations(result):
        for parameter in operation.get("parameters", []):
            # Arrays are left alone: an empty item is still a string, and the filters skip empty items.
            if parameter["in"] == "query" and not parameter.get("required") and not _is_array(parameter):
                parameter["allowEmptyValue"] = True
    return result


def every_operation_may_be_throttled(result: dict, **_context) -> dict:
    """Every API view runs the request throttle (config.throttling), so every operation may answer 429."""
    for operation in _operations(result):
        operation["responses"].setdefault(
            "429", {"content": {"application/json": {"schema": ERROR_SCHEMA}}, "description": "Throttled"}
        )
    return result
