"""Elasticsearch's own answer shapes, for the Elasticsearch-compatible ingest endpoints (`/api/ingest/es/`).

Shippers configured for Elasticsearch read these: the root's version (Elastic's clients also want the
`X-Elastic-Product` header), the bulk items, and errors as `{"error": {"root_cause", "type", "reason"},
"status"}` with the status they retry on (429, 5xx) or give up on (4xx).
"""

import datetime as dt
import os
import uuid

from django.http import HttpRequest, JsonResponse

# The Elasticsearch version the platform runs and answers as (README: "Elasticsearch 8.19.21").
VERSION = {
    "number": "8.19.21",
    "build_flavor": "default",
    "build_type": "tar",
    "build_hash": "4fe44c255c3d0da06779b921e132cdc555ed9aff",
    "build_date": "2026-08-26T22:10:47.574903747Z",
    "build_snapshot": False,
    "lucene_version": "9.12.2",
    "minimum_wire_compatibility_version": "7.17.0",
    "minimum_index_compatibility_version": "7.0.0",
}
CLUSTER_NAME = "logs-platform"
# Stable across processes and restarts: clients compare it between requests.
CLUSTER_UUID = uuid.uuid5(uuid.NAMESPACE_URL, "logs-platform:ingest").hex[:22]
NODE_ID = uuid.uuid5(uuid.NAMESPACE_URL, "logs-platform:ingest-node").hex[:22]
PRODUCT_HEADERS = {"X-Elastic-Product": "Elasticsearch"}
AUTHENTICATE = 'Basic realm="security", ApiKey'
# Each status's Elasticsearch error type, for errors that have no more specific one.
ERROR_TYPES = {
    400: "illegal_argument_exception",
    401: "security_exception",
    403: "security_exception",
    404: "resource_not_found_exception",
    405: "method_not_allowed_exception",
    408: "timeout_exception",
    411: "illegal_argument_exception",
    413: "request_entity_too_large_exception",
    429: "es_rejected_execution_exception",
    503: "unavailable_shards_exception",
}


def error_body(status: int, reason: str, error_type: str | None = None) -> dict:
    kind = error_type or ERROR_TYPES.get(status, "exception")
    return {
        "error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
        "status": status,
    }


def error_headers(status: int) -> dict[str, str]:
    headers = dict(PRODUCT_HEADERS)
    if status == 401:
        headers["WWW-Authenticate"] = AUTHENTICATE
    return headers


def error_response(status: int, reason: str, *, headers: dict | None = None) -> JsonResponse:
    """An error as Elasticsearch answers it, outside DRF (the body guard's 411/413)."""
    response = JsonResponse(error_body(status, reason), status=status)
    for name, value in {**error_headers(status), **(headers or {})}.items():
        response[name] = value
    return response


def is_es_path(request: HttpRequest) -> bool:
    return request.path.startswith("/api/ingest/es/") or request.path == "/api/ingest/es"


def root() -> dict:
    return {
        "name": os.uname().nodename,
        "cluster_name": CLUSTER_NAME,
        "cluster_uuid": CLUSTER_UUID,
        "version": VERSION,
        "tagline": "You Know, for Search",
    }


def cluster_health() -> dict:
    return {
        "cluster_name": CLUSTER_NAME,
        "status": "green",
        "timed_out": False,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": 0,
        "active_shards": 0,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0,
    }


def cat_health(now: dt.datetime, *, as_json: bool) -> list[dict] | str:
    """`_cat/health`: one row, as text (Elasticsearch's default) or JSON (`?format=json`)."""
    row = {
        "epoch": str(int(now.timestamp())),
        "timestamp": now.strftime("%H:%M:%S"),
        "cluster": CLUSTER_NAME,
        "status": "green",
        "node.total": "1",
        "node.data": "1",
        "shards": "0",
        "pri": "0",
        "relo": "0",
        "init": "0",
        "unassign": "0",
        "pending_tasks": "0",
        "max_task_wait_time": "-",
        "active_shards_percent": "100.0%",
    }
    return [row] if as_json else " ".join(row.values()) + "\n"


def license_info() -> dict:
    return {
        "license": {
            "status": "active",
            "uid": CLUSTER_UUID,
            "type": "basic",
            "issue_date": "2024-01-01T00:00:00.000Z",
            "issue_date_in_millis": 1704067200000,
            "max_nodes": 1000,
            "max_resource_units": None,
            "issued_to": CLUSTER_NAME,
            "issuer": "elasticsearch",
            "start_date_in_millis": -1,
        }
    }


def xpack_info() -> dict:
    return {
        "build": {"hash": VERSION["build_hash"], "date": VERSION["build_date"]},
        "license": {"uid": CLUSTER_UUID, "type": "basic", "mode": "basic", "status": "active"},
        "features": {},
        "tagline": "You know, for X",
    }


def nodes_info(host: str) -> dict:
    return {
        "_nodes": {"total": 1, "successful": 1, "failed": 0},
        "cluster_name": CLUSTER_NAME,
        "nodes": {
            NODE_ID: {
                "name": os.uname().nodename,
                "version": VERSION["number"],
                "roles": ["data", "ingest", "master"],
                "http": {"publish_address": host, "bound_address": [host]},
            }
        },
    }
