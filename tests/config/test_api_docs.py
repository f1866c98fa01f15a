"""The OpenAPI schema describes the whole REST API and its docs page works with no internet."""

import re

import pytest
import yaml
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def api_routes(patterns, prefix: str = "") -> set[str]:
    """Every /api/... route of the URL conf, as OpenAPI writes paths (`<str:job_id>` -> `{job_id}`)."""
    routes = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes |= api_routes(pattern.url_patterns, route)
        elif (
            isinstance(pattern, URLPattern)
            and route.startswith("api/")
            and not route.startswith(("api/schema", "api/docs"))
        ):
            routes.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return routes


@pytest.fixture
def schema(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_valid_openapi_3(schema):
    validate(schema)

    assert schema["openapi"].startswith("3.")


def test_the_schema_documents_every_api_endpoint_with_its_errors(schema):
    assert set(schema["paths"]) == api_routes(get_resolver().url_patterns)
    upload = schema["paths"]["/api/logs/upload"]["post"]
    assert {"201", "400", "413", "429", "503"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]


def test_the_schema_needs_credentials(client):
    assert client.get("/api/schema/").status_code in (401, 403)


def test_the_docs_page_loads_only_files_served_by_the_app(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)

    assert any("swagger-ui-bundle.js" in asset for asset in assets)
    assert [asset for asset in assets if asset.startswith(("http:", "https:", "//"))] == []
    for asset in assets:
        assert admin_client.get(asset).status_code == 200, asset


def operations(schema):
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_documents_the_throttles_429(schema):
    assert [name for name, operation in operations(schema) if "429" not in operation["responses"]] == []


def test_an_empty_optional_query_value_is_allowed_by_the_schema(schema):
    strict = [
        (name, parameter["name"])
        for name, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
        and parameter["schema"].get("type") != "array"
        and not parameter.get("allowEmptyValue")
    ]

    assert strict == []


def test_the_schema_states_the_answers_schemathesis_found_undocumented(schema):
    search_parameters = {
        parameter["name"]: parameter for parameter in schema["paths"]["/api/search"]["get"]["parameters"]
    }
    alert = schema["components"]["schemas"]["Alert"]["properties"]

    assert "400" in schema["paths"]["/api/fraud/scan"]["post"]["responses"]
    assert alert["status_changed_by"]["nullable"] is True
    assert "field=value" not in search_parameters
    assert search_parameters["status"]["schema"]["items"] == {"type": "integer", "minimum": 100, "maximum": 599}


def test_the_job_status_enum_of_the_schema_is_the_one_of_the_code(schema):
    from ingestion.enums import JobStatus

    assert schema["components"]["schemas"]["JobStatusEnum"]["enum"] == [status.value for status in JobStatus]
