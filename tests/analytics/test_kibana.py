"""The Kibana saved objects (docker/kibana/logs-ecom.ndjson) and `manage.py kibana_setup`, which imports them.

Kibana cannot run on this machine, so the file is checked against the index template and Kibana's formats
here, and the command talks to a small real HTTP server (see `FakeKibana`) that stands in for Kibana.
"""

import email
import email.policy
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ingestion.documents import DAILY_MAPPINGS

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "docker" / "kibana" / "logs-ecom.ndjson"
DATA_VIEW_ID = "logs-ecom"
PANEL_TYPES = {"lens", "map", "visualization", "search"}
# Lens operations and the field types they aggregate (a terms on a text field, say, would fail in Kibana).
NUMERIC = {"integer", "long", "double", "float", "scaled_float"}
OPERATION_TYPES = {
    "date_histogram": {"date"},
    "terms": {"keyword", "ip"} | NUMERIC,
    "sum": NUMERIC,
    "average": NUMERIC,
    "median": NUMERIC,
    "max": NUMERIC,
    "min": NUMERIC,
    "unique_count": {"keyword", "ip", "date"} | NUMERIC,
}
# Keys whose string value names a field, wherever they sit (Lens columns, controls, visState aggs, maps).
FIELD_KEYS = {"sourceField", "field", "fieldName", "geoField", "timeField", "term", "sortField", "topHitsSplitField"}
KQL_FIELD = re.compile(r"([\w.@]+)\s*(?::|<=|>=|<|>)")


def mapped_fields(properties: dict, prefix: str = "") -> dict[str, str]:
    """Every field path of the template with its type, sub-fields (`name.text`) included."""
    fields = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            fields.update(mapped_fields(spec["properties"], f"{path}."))
        if "type" in spec:
            fields[path] = spec["type"]
        for sub, sub_spec in spec.get("fields", {}).items():
            fields[f"{path}.{sub}"] = sub_spec["type"]
    return fields


FIELDS = mapped_fields(DAILY_MAPPINGS["properties"])


def saved_objects() -> list[dict]:
    return [json.loads(line) for line in NDJSON.read_text().splitlines() if line.strip()]


def by_type(kind: str) -> list[dict]:
    return [obj for obj in saved_objects() if obj["type"] == kind]


def decoded(value):
    """Kibana stores much of its state as JSON inside strings: decode those, recursively."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return decoded(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, dict):
        return {key: decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def referenced_fields(value, found: list[tuple[str, str]], where: str = "") -> list[tuple[str, str]]:
    """(field, where) for every field name in a decoded object: field keys, map tooltips, KQL queries."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in FIELD_KEYS and isinstance(item, str) and item != "___records___":
                found.append((item, f"{where}.{key}"))
            elif key == "tooltipProperties":
                found.extend((name, f"{where}.tooltipProperties") for name in item)
            elif key == "query" and isinstance(item, str) and value.get("language") == "kuery":
                found.extend((name, f"{where}.query") for name in KQL_FIELD.findall(item))
            else:
                referenced_fields(item, found, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            referenced_fields(item, found, f"{where}[{index}]")
    return found


def dynamic_style_fields(layer: dict) -> list[str]:
    # Style fields of a documents layer are index fields; those of a grid layer are its own metrics (doc_count).
    if layer["sourceDescriptor"].get("type") != "ES_SEARCH":
        return []
    properties = layer.get("style", {}).get("properties", {})
    return [
        prop["options"]["field"]["name"]
        for prop in properties.values()
        if prop.get("type") == "DYNAMIC" and prop["options"]["field"].get("origin") == "source"
    ]


# The file


def test_every_line_is_a_saved_object_with_a_unique_id():
    lines = [line for line in NDJSON.read_text().splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]

    for obj in objects:
        assert {"type", "id", "attributes", "references"} <= set(obj), obj.get("id")
        assert isinstance(obj["attributes"], dict) and isinstance(obj["references"], list)
    keys = [(obj["type"], obj["id"]) for obj in objects]
    assert len(set(keys)) == len(keys)
    assert len({obj["id"] for obj in objects}) == len(objects)
    assert {obj["type"] for obj in objects} == {"index-pattern", "lens", "map", "dashboard"}


def test_every_reference_points_to_an_object_of_the_file():
    objects = saved_objects()
    present = {(obj["type"], obj["id"]) for obj in objects}

    for obj in objects:
        for reference in obj["references"]:
            assert {"name", "type", "id"} <= set(reference)
            assert (reference["type"], reference["id"]) in present, (obj["id"], reference)


def test_migration_versions_are_ones_kibana_8_19_knows():
    # A version above the last migration Kibana knows for a type fails the import ("belongs to a more recent
    # version of Kibana"); these are migrations Kibana 8.19 registers (lens 8.9.0, map 8.4.0) or that its own
    # sample data declares (index-pattern 7.11.0, dashboard 8.7.0). Lower versions are migrated on import.
    known = {"index-pattern": "7.11.0", "lens": "8.9.0", "map": "8.4.0", "dashboard": "8.7.0"}

    def parse(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version.split("."))

    for obj in saved_objects():
        assert parse(obj["coreMigrationVersion"]) <= parse("8.8.0"), obj["id"]
        assert parse(obj["typeMigrationVersion"]) <= parse(known[obj["type"]]), obj["id"]


def test_the_data_view_is_logs_ecom_star_on_timestamp():
    (data_view,) = by_type("index-pattern")

    assert data_view["id"] == DATA_VIEW_ID
    assert data_view["attributes"]["title"] == "logs-ecom*"
    assert data_view["attributes"]["timeFieldName"] == "@timestamp"
    assert FIELDS["@timestamp"] == "date"
    for field in json.loads(data_view["attributes"]["fieldFormatMap"]):
        assert field in FIELDS


def test_every_field_the_objects_use_is_in_the_index_template():
    found: list[tuple[str, str]] = []
    for obj in saved_objects():
        attributes = decoded(obj["attributes"])
        layers = attributes.pop("layerListJSON", [])
        referenced_fields(attributes, found, obj["id"])
        for layer in layers:
            if layer["sourceDescriptor"]:
                referenced_fields(layer["sourceDescriptor"], found, f"{obj['id']}.{layer['id']}")
            found.extend((name, f"{obj['id']}.{layer['id']}.style") for name in dynamic_style_fields(layer))
    names = {name for name, _ in found}

    assert [(name, where) for name, where in found if name not in FIELDS] == []
    # The panels the dashboard promises, on the fields that hold them.
    assert {"@timestamp", "log_type", "amount", "currency", "geo.location", "geo.country_iso_code"} <= names
    assert "http_status" in names


def test_lens_columns_aggregate_fields_of_a_fitting_type_and_reference_the_data_view():
    for lens in by_type("lens"):
        state = lens["attributes"]["state"]
        layers = state["datasourceStates"]["formBased"]["layers"]
        references = {ref["name"]: ref for ref in lens["references"]}
        for layer_id, layer in layers.items():
            # Lens resolves each layer's data view through this reference name.
            assert references[f"indexpattern-datasource-layer-{layer_id}"]["id"] == DATA_VIEW_ID
            assert set(layer["columnOrder"]) == set(layer["columns"]), lens["id"]
            for column_id, column in layer["columns"].items():
                operation = column["operationType"]
                if operation == "count":
                    continue
                assert FIELDS[column["sourceField"]] in OPERATION_TYPES[operation], (lens["id"], column_id)
                if operation == "terms":
                    assert column["params"]["orderBy"]["columnId"] in layer["columns"]
        visualization = state["visualization"]
        accessors = {
            value for key, value in visualization.items() if key.endswith("Accessor") and isinstance(value, str)
        }
        for xy_layer in visualization.get("layers", []):
            accessors |= {xy_layer["xAccessor"], *xy_layer["accessors"]} | (
                {xy_layer["splitAccessor"]} if "splitAccessor" in xy_layer else set()
            )
            assert xy_layer["layerId"] in layers
        columns = {column for layer in layers.values() for column in layer["columns"]}
        assert accessors and accessors <= columns, lens["id"]


def test_the_map_layers_read_geo_location_through_the_data_view():
    (map_object,) = by_type("map")
    layers = json.loads(map_object["attributes"]["layerListJSON"])
    references = {ref["name"]: ref for ref in map_object["references"]}

    es_layers = [layer for layer in layers if layer["sourceDescriptor"]["type"].startswith("ES_")]
    assert {layer["sourceDescriptor"]["type"] for layer in es_layers} == {"ES_GEO_GRID", "ES_SEARCH"}
    for layer in es_layers:
        source = layer["sourceDescriptor"]
        assert FIELDS[source["geoField"]] == "geo_point"
        assert references[source["indexPatternRefName"]]["id"] == DATA_VIEW_ID
    json.loads(map_object["attributes"]["mapStateJSON"])


def test_the_dashboard_shows_every_visualization_and_map_of_the_file():
    (dashboard,) = by_type("dashboard")
    attributes = dashboard["attributes"]
    panels = json.loads(attributes["panelsJSON"])
    references = {ref["name"]: ref for ref in dashboard["references"]}

    assert attributes["title"] == "E-commerce logs"
    # Kibana validates dashboard attributes on import and forbids unknown keys.
    assert set(attributes) <= {
        "title",
        "description",
        "kibanaSavedObjectMeta",
        "timeRestore",
        "timeFrom",
        "timeTo",
        "refreshInterval",
        "controlGroupInput",
        "panelsJSON",
        "optionsJSON",
        "hits",
        "version",
    }
    shown = set()
    for panel in panels:
        assert panel["gridData"]["i"] == panel["panelIndex"]
        reference = references[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert reference["type"] == panel["type"]
        shown.add((reference["type"], reference["id"]))
    assert len({panel["panelIndex"] for panel in panels}) == len(panels)
    charts = {(obj["type"], obj["id"]) for obj in saved_objects() if obj["type"] in PANEL_TYPES}
    assert shown == charts
    assert {"lens", "map"} <= {kind for kind, _ in charts}
    for control_id in json.loads(attributes["controlGroupInput"]["panelsJSON"]):
        assert references[f"controlGroup_{control_id}:optionsListDataView"]["id"] == DATA_VIEW_ID


# The command


class FakeKibana(ThreadingHTTPServer):
    """A real HTTP server on a free port that answers like Kibana's status and import APIs and records requests.

    A stand-in only because Kibana cannot run on this machine: `/api/status` answers 503 for the first
    `not_ready` calls, then 200; the import answers `import_status` with `import_answer`.
    """

    def __init__(self, *, not_ready: int = 0, import_status: int = 200, import_answer: dict | None = None) -> None:
        super().__init__(("127.0.0.1", 0), KibanaHandler)
        self.not_ready = not_ready
        self.import_status = import_status
        self.import_answer = import_answer or {"success": True, "successCount": 0, "successResults": []}
        self.requests: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class KibanaHandler(BaseHTTPRequestHandler):
    server: FakeKibana

    def answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self) -> dict:
        length = int(self.headers.get("Content-Length", 0))
        # Header names are case-insensitive (urllib sends "Kbn-xsrf"): keep them lowercase.
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = {"method": self.command, "path": self.path, "headers": headers}
        request["body"] = self.rfile.read(length) if length else b""
        self.server.requests.append(request)
        return request

    def do_GET(self):
        self.record()
        if self.path != "/api/status":
            return self.answer(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})
        ready = sum(1 for request in self.server.requests if request["path"] == "/api/status") > self.server.not_ready
        return self.answer(
            200 if ready else 503, {"status": {"overall": {"level": "available" if ready else "unavailable"}}}
        )

    def do_POST(self):
        self.record()
        return self.answer(self.server.import_status, self.server.import_answer)

    def log_message(self, format, *args):  # keep the test output clean
        pass


@pytest.fixture
def kibana_server(request):
    server = FakeKibana(**getattr(request, "param", {}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def multipart_files(request: dict) -> dict[str, tuple[str, bytes]]:
    """The multipart body of a recorded request: {field: (filename, content)}."""
    head = f"Content-Type: {request['headers']['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request["body"], policy=email.policy.HTTP)
    assert message.is_multipart()
    return {
        part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
        for part in message.iter_parts()
    }


def success_answer() -> dict:
    objects = saved_objects()
    results = [{"type": obj["type"], "id": obj["id"], "meta": {}} for obj in objects]
    return {"success": True, "successCount": len(objects), "successResults": results, "warnings": []}


@pytest.mark.parametrize("kibana_server", [{"not_ready": 2}], indirect=True)
def test_the_command_waits_for_kibana_then_posts_the_file_as_multipart(kibana_server, capsys, monkeypatch):
    kibana_server.import_answer = success_answer()
    monkeypatch.setenv("KIBANA_USERNAME", "elastic")
    monkeypatch.setenv("KIBANA_PASSWORD", "changeme")

    call_command("kibana_setup", url=kibana_server.url + "/", interval=0.01, wait=10)

    methods = [(request["method"], request["path"]) for request in kibana_server.requests]
    assert methods == [("GET", "/api/status")] * 3 + [("POST", "/api/saved_objects/_import?overwrite=true")]
    post = kibana_server.requests[-1]
    assert post["headers"]["kbn-xsrf"] == "true"
    assert post["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert post["headers"]["authorization"] == "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="  # elastic:changeme
    assert multipart_files(post) == {"file": ("logs-ecom.ndjson", NDJSON.read_bytes())}
    out = capsys.readouterr().out
    assert out.count("Waiting for Kibana") == 2
    assert f"Imported {len(saved_objects())} saved object(s) into Kibana" in out
    assert "/app/dashboards#/view/logs-ecom-dashboard" in out


@pytest.mark.parametrize(
    "kibana_server",
    [
        {
            "import_answer": {
                "success": False,
                "successCount": 7,
                "errors": [
                    {
                        "id": "logs-ecom-dashboard",
                        "type": "dashboard",
                        "meta": {"title": "E-commerce logs"},
                        "error": {"type": "unknown", "message": "[panelsJSON]: expected value of type [string]"},
                    }
                ],
                "warnings": [],
            }
        }
    ],
    indirect=True,
)
def test_the_command_exits_non_zero_with_kibanas_message_when_the_import_reports_errors(kibana_server):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "KIBANA_USERNAME": ""}
    done = subprocess.run(
        [sys.executable, "manage.py", "kibana_setup", "--url", kibana_server.url, "--interval", "0.01"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode != 0
    assert "Kibana imported 7 object(s) of logs-ecom.ndjson and rejected 1" in done.stderr
    assert 'dashboard logs-ecom-dashboard "E-commerce logs": unknown: [panelsJSON]: expected value' in done.stderr
    assert [request["method"] for request in kibana_server.requests] == ["GET", "POST"]


@pytest.mark.parametrize(
    "kibana_server",
    [
        {
            "import_status": 415,
            "import_answer": {
                "statusCode": 415,
                "error": "Unsupported Media Type",
                "message": "Unsupported Media Type",
            },
        }
    ],
    indirect=True,
)
def test_the_command_fails_with_the_http_error_kibana_answers(kibana_server):
    with pytest.raises(CommandError, match=r"HTTP 415.*Unsupported Media Type"):
        call_command("kibana_setup", url=kibana_server.url, interval=0.01)


def test_the_command_gives_up_after_the_wait_when_kibana_never_answers():
    # A port nothing listens on: connection refused on every attempt.
    with ThreadingHTTPServer(("127.0.0.1", 0), KibanaHandler) as probe:
        url = f"http://127.0.0.1:{probe.server_address[1]}"
    with pytest.raises(CommandError, match=r"did not answer /api/status with 200 in 0s: not reachable"):
        call_command("kibana_setup", url=url, interval=0.01, wait=0.05)
