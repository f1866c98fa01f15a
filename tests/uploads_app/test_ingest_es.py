"""The Elasticsearch-compatible ingest surface: the probes shippers make, _bulk in Elasticsearch's own format,
its errors as Elasticsearch words them, and the same code on the ingest port with no path prefix."""

import base64
import socket
import urllib.error
import urllib.request

import orjson
import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.es import get_es
from tests.conftest import wait_until
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines, worker_paused
from tests.uploads_app.test_ingest_api import count_stream, settled, stream_documents
from tests.webserver import gunicorn
from uploads_app.tokens import ingest_token_create

pytestmark = pytest.mark.django_db(transaction=True)

ES = "/api/ingest/es"
EVENTS = data_lines(WEB_ACCESS_LOGS.name, 30).splitlines()


@pytest.fixture
def shipper(user) -> APIClient:
    """A client configured as rsyslog or syslog-ng is: Basic auth with the API token as the password."""
    client = APIClient()
    key = Token.objects.create(user=user).key
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"rsyslog:{key}".encode()).decode())
    client.key = key
    return client


def bulk(client, body: bytes, path: str = f"{ES}/_bulk", method: str = "post"):
    return getattr(client, method)(path, data=body, content_type="application/x-ndjson")


def pairs(action: str, events: list[bytes], **meta) -> bytes:
    line = orjson.dumps({action: meta})
    return b"".join(line + b"\n" + event + b"\n" for event in events)


def streams_of(shipper) -> dict[str, str]:
    """The shipper's user's streams by name, read with that user's token (Basic auth reads nothing)."""
    results = shipper_reader(shipper).get("/api/logs/streams").json()["results"]
    return {stream["name"]: stream["stream_id"] for stream in results}


def test_the_root_answers_like_elasticsearch_8_with_the_product_header(shipper):
    response = shipper.get(f"{ES}/")

    assert response.status_code == 200
    assert response["X-Elastic-Product"] == "Elasticsearch"
    body = response.json()
    assert body["version"]["number"].startswith("8.19.")
    assert body["version"]["build_flavor"] == "default"
    assert set(body) == {"name", "cluster_name", "cluster_uuid", "version", "tagline"}
    assert body["tagline"] == "You Know, for Search"
    assert {"lucene_version", "minimum_wire_compatibility_version", "minimum_index_compatibility_version"} <= set(
        body["version"]
    )


def test_the_root_answers_head_without_a_body(shipper):
    response = shipper.head(f"{ES}/")

    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Elastic-Product"] == "Elasticsearch"


@pytest.mark.parametrize("method", ["head", "get"])
def test_cat_health_answers_green_as_rsyslog_checks_it(shipper, method):
    response = getattr(shipper, method)(f"{ES}/_cat/health")

    assert response.status_code == 200
    if method == "get":
        assert " green " in response.content.decode()


def test_cat_health_also_answers_json(shipper):
    assert shipper.get(f"{ES}/_cat/health?format=json").json()[0]["status"] == "green"


@pytest.mark.parametrize(
    ("path", "key", "value"),
    [
        ("_license", "license", {"status": "active", "type": "basic"}),
        ("_xpack", "license", {"status": "active", "mode": "basic"}),
        ("_cluster/health", "status", "green"),
        ("_nodes/http", "_nodes", {"total": 1, "successful": 1, "failed": 0}),
    ],
)
def test_the_other_probes_answer_as_elasticsearch_does(shipper, path, key, value):
    response = shipper.get(f"{ES}/{path}")

    assert response.status_code == 200
    found = response.json()[key]
    assert found == value if not isinstance(value, dict) else {name: found[name] for name in value} == value


def test_without_credentials_the_answer_is_elasticsearchs_401():
    response = APIClient().post(f"{ES}/_bulk", data=pairs("index", EVENTS[:1]), content_type="application/x-ndjson")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="security", ApiKey'
    error = response.json()
    assert error["status"] == 401
    assert error["error"]["type"] == error["error"]["root_cause"][0]["type"] == "security_exception"
    assert error["error"]["reason"]


def test_a_wrong_password_is_elasticsearchs_401_too():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"rsyslog:guess").decode())

    response = client.get(f"{ES}/")

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "security_exception"


def test_bulk_index_and_create_are_indexed_into_the_stream_the_index_names(celery_worker, shipper):
    body = pairs("index", EVENTS[:3], _index="web-logs") + pairs("create", EVENTS[3:5], _index="web-logs")

    response = bulk(shipper, body)

    assert response.status_code == 200
    answer = response.json()
    assert answer["errors"] is False and isinstance(answer["took"], int)
    assert [next(iter(item)) for item in answer["items"]] == ["index"] * 3 + ["create"] * 2
    assert {item[next(iter(item))]["status"] for item in answer["items"]} == {201}
    assert {item[next(iter(item))]["_index"] for item in answer["items"]} == {"web-logs"}
    stream_id = streams_of(shipper)["web-logs"]
    wait_until(lambda: count_stream(stream_id) == 5)
    assert {document["stream"] for document in stream_documents(stream_id)} == {"web-logs"}
    # The name is the stream's, never a real index.
    assert not get_es().indices.exists(index="web-logs")


def test_delete_update_and_unreadable_documents_are_refused_per_item_and_the_rest_indexed(celery_worker, shipper):
    body = (
        pairs("index", EVENTS[:1])
        + b'{"delete": {"_id": "x1"}}\n'
        + pairs("update", [b'{"doc": {"response": 500}}'], _id="x2")
        + pairs("index", [b'{"message": "no time"}', b"not json"])
        + pairs("create", EVENTS[1:2])
    )

    response = bulk(shipper, body, path=f"{ES}/mixed/_bulk")

    answer = response.json()
    assert response.status_code == 200 and answer["errors"] is True
    items = [
        (action, result["status"], result.get("error", {}).get("type"))
        for item in answer["items"]
        for action, result in item.items()
    ]
    assert items == [
        ("index", 201, None),
        ("delete", 400, "illegal_argument_exception"),
        ("update", 400, "illegal_argument_exception"),
        ("index", 400, "document_parsing_exception"),
        ("index", 400, "document_parsing_exception"),
        ("create", 201, None),
    ]
    assert answer["items"][1]["delete"]["error"]["reason"].startswith("The delete action is not supported")
    stream_id = streams_of(shipper)["mixed"]
    counts = wait_until(lambda: settled(shipper_reader(shipper), stream_id))
    assert counts == {"received": 6, "indexed": 2, "dead_lettered": 4, "fallback": 0, "pending": 0}


def shipper_reader(shipper) -> APIClient:
    """The same user reading its streams with its token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {shipper.key}")
    return client


def test_a_bulk_action_id_is_kept_and_resending_the_batch_duplicates_nothing(celery_worker, shipper):
    body = b"".join(
        orjson.dumps({"index": {"_index": "by-id", "_id": f"evt-{number}"}}) + b"\n" + event + b"\n"
        for number, event in enumerate(EVENTS[:10])
    )

    first = bulk(shipper, body).json()
    again = bulk(shipper, body, method="put").json()

    stream_id = streams_of(shipper)["by-id"]
    assert [item["index"]["_id"] for item in first["items"]] == [f"evt-{number}" for number in range(10)]
    assert [item["index"]["status"] for item in again["items"]] == [201] * 10
    wait_until(lambda: count_stream(stream_id) == 10)
    wait_until(lambda: settled(shipper_reader(shipper), stream_id))
    ids = sorted(document["_id"] for document in stream_documents(stream_id))
    assert ids == sorted(f"{stream_id}:evt-{number}" for number in range(10))


def test_a_broken_action_line_refuses_the_request_as_elasticsearch_does(shipper):
    response = bulk(shipper, b"GET / HTTP/1.1\n" + EVENTS[0] + b"\n")

    assert response.status_code == 400
    assert response.json()["error"]["reason"] == "Malformed action/metadata line [1]: not JSON"
    assert response["X-Elastic-Product"] == "Elasticsearch"


def test_an_over_size_body_is_elasticsearchs_413(shipper):
    response = bulk(shipper, b"x" * (10 * 2**20 + 1))

    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_entity_too_large_exception"


def test_past_the_queue_bound_bulk_gets_429_with_retry_after(celery_worker, shipper, settings):
    settings.STREAM_MAX_QUEUED_BATCHES = 1
    with worker_paused():
        assert bulk(shipper, pairs("index", EVENTS[:2], _index="busy")).status_code == 200
        response = bulk(shipper, pairs("index", EVENTS[2:4], _index="busy"))
    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.STREAM_RETRY_AFTER_SECONDS)
    assert response.json()["status"] == 429
    assert response.json()["error"]["type"] == "es_rejected_execution_exception"
    wait_until(lambda: count_stream(streams_of(shipper)["busy"]) == 2)


def test_filebeat_8s_requests_at_start_up_and_its_bulk_get_elasticsearch_8s_answers(celery_worker, user):
    """What Filebeat 8's Elasticsearch output asks with `path: /api/ingest/es` and `api_key: id:key`: the root for
    the version, the license (x-pack's licenser reads `license.type` and `license.status`), then `_bulk` with
    `create` actions and its filter_path (templates and ILM are off in the README's snippet)."""
    key = ingest_token_create(user=user)
    filebeat = APIClient()
    filebeat.credentials(HTTP_AUTHORIZATION="ApiKey " + base64.b64encode(f"filebeat:{key}".encode()).decode())
    body = pairs("create", EVENTS[:3], _index="shop-web")

    root = filebeat.get(f"{ES}/")
    license_ = filebeat.get(f"{ES}/_license?human=false")
    sent = filebeat.post(
        f"{ES}/_bulk?filter_path=errors,items.*.error,items.*.status", data=body, content_type="application/json"
    )

    assert root.status_code == 200 and root.json()["version"]["number"].startswith("8.")
    assert license_.status_code == 200
    assert {name: license_.json()["license"][name] for name in ("type", "status")} == {
        "type": "basic",
        "status": "active",
    }
    assert sent.status_code == 200 and sent.json()["errors"] is False
    assert [item["create"]["status"] for item in sent.json()["items"]] == [201, 201, 201]
    owner = APIClient()
    owner.key = Token.objects.create(user=user).key  # an ingest-only key reads nothing: the owner's own token does
    wait_until(lambda: count_stream(streams_of(owner)["shop-web"]) == 3)


def test_an_api_a_shipper_may_try_that_is_not_here_is_elasticsearchs_404(shipper):
    response = shipper.put(f"{ES}/_index_template/filebeat-8.19.0", data=b"{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["reason"] == (
        f"no handler found for uri [{ES}/_index_template/filebeat-8.19.0] and method [PUT]"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(port: int, path: str, *, key: str, body: bytes | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(f"rsyslog:{key}".encode()).decode())
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our loopback server
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_ingest_port_serves_bulk_at_its_root_and_nothing_else_of_the_app(celery_worker, shipper):
    port = free_port()
    with gunicorn(port, log_name="test-ingest-port", app="config.ingest_wsgi", ready_path="/"):
        root = http(port, "/", key=shipper.key)
        health = http(port, "/_cat/health", key=shipper.key, method="HEAD")
        sent = http(port, "/_bulk", key=shipper.key, body=pairs("index", EVENTS[:4], _index="rsyslog"), method="POST")
        admin = http(port, "/admin/", key=shipper.key)
        search = http(port, "/api/search", key=shipper.key)

    assert root[0] == 200 and orjson.loads(root[2])["version"]["number"].startswith("8.")
    assert root[1]["X-Elastic-Product"] == "Elasticsearch"
    assert health[0] == 200
    assert sent[0] == 200 and orjson.loads(sent[2])["errors"] is False
    assert admin[0] == search[0] == 404
    assert orjson.loads(admin[2])["error"]["reason"].startswith("no handler found for uri [/api/ingest/es/admin/]")
    wait_until(lambda: count_stream(streams_of(shipper)["rsyslog"]) == 4)
    assert settings.INGEST_ES_PORT == 9201
