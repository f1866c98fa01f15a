"""A two-node Elasticsearch cluster (two launcher runs on their own ports and data paths, discovery over loopback):
one node stops mid-job, nothing is lost, and /api/health follows the cluster from yellow back to green.

The suite's shared single node is untouched: the cluster, its web server and its worker use ports of their own.
"""

import os
import shutil
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token

from tests.conftest import ROOT, fresh_user_id, wait_until
from tests.faults.figures import record
from tests.faults.test_faults import another_worker, web_lines
from tests.helpers import count_documents, worker_paused
from tests.webserver import gunicorn

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
WEB_PORT = 8120
NODES = {"es-cluster-1": (9260, 9360), "es-cluster-2": (9261, 9361)}
CLUSTER_URL = "http://127.0.0.1:9260"
# Node 1 bootstraps the cluster and is its master; node 2 joins and holds shards (data only), so it can stop.
NODE_SETTINGS = {"es-cluster-1": {"ES_INITIAL_MASTER_NODES": "es-cluster-1"}, "es-cluster-2": {"ES_NODE_ROLES": "data"}}
# The worker and the web server on the cluster: every daily index with one replica, so either node holds it all.
APP_ON_CLUSTER = {"ELASTICSEARCH_URL": CLUSTER_URL, "LOGS_INDEX_REPLICAS": "1", "LOGS_CHUNK_MB": "1"}
LINES = 30_000
# The shared access-log file's 14,074 rows cover its 61 days; with 1 MB chunks (about 1,000 rows) two at a time,
# this many indexed means every day's index exists.
DAYS_CREATED_BY = 16_000


def node(name: str, action: str) -> None:
    http_port, transport_port = NODES[name]
    env = {
        **os.environ,
        "ES_NAME": name,
        "ES_PORT": str(http_port),
        "ES_TRANSPORT_PORT": str(transport_port),
        "ES_SEED_HOSTS": ",".join(f"127.0.0.1:{port}" for _, port in NODES.values()),
        "ES_HEAP": "512m",
        **NODE_SETTINGS[name],
    }
    subprocess.run(["bash", "services/elasticsearch.sh", action], check=True, cwd=ROOT, env=env)


def remove_data() -> None:
    # A new cluster each run: a node's data names the cluster it belonged to, and a new cluster refuses it.
    for name in NODES:
        shutil.rmtree(ROOT / "var" / "data" / name, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    remove_data()
    try:
        with ThreadPoolExecutor(max_workers=len(NODES)) as pool:  # both start at once: node 2 waits to join
            list(pool.map(lambda name: node(name, "start"), NODES))
        yield
    finally:
        for name in reversed(NODES):
            node(name, "stop")
        remove_data()


@pytest.fixture
def staff_token(django_user_model) -> str:
    staff = django_user_model.objects.create_user(id=fresh_user_id(), username=f"ops-{uuid.uuid4().hex[:6]}")
    staff.is_staff = True
    staff.save()
    return Token.objects.create(user=staff).key


def url(path: str) -> str:
    return f"http://127.0.0.1:{WEB_PORT}{path}"


def get(path: str, token: str) -> dict:
    return httpx.get(url(path), headers={"Authorization": f"Token {token}"}, timeout=30).json()


def elasticsearch_health(token: str) -> dict:
    return get("/api/health", token)["dependencies"]["elasticsearch"]


def with_nodes(token: str, nodes: int, status: str | None = None) -> dict | None:
    """Elasticsearch's health entry once its cluster has this many nodes (and this state, if given)."""
    health = elasticsearch_health(token)
    return health if health.get("nodes") == nodes and status in (None, health.get("cluster_status")) else None


def job(token: str, job_id: str) -> dict:
    return get(f"/api/logs/jobs/{job_id}", token)


def test_a_node_stopped_mid_job_loses_nothing_and_health_goes_yellow_then_green(cluster, celery_worker, staff_token):
    with (
        gunicorn(WEB_PORT, log_name="test-es-cluster-web", env=APP_ON_CLUSTER),
        another_worker(celery_worker, **APP_ON_CLUSTER),
    ):
        uploaded = httpx.post(
            url("/api/logs/upload"),
            headers={"Authorization": f"Token {staff_token}"},
            files={"file": ("web_access_on_two_nodes.ndjson", web_lines(LINES))},
            timeout=120,
        )
        assert uploaded.status_code == 201, uploaded.text
        job_id = uploaded.json()["data"]["job_id"]
        # Every event day has its index once the file's first pass is in (chunks run in order, two at a time).
        wait_until(lambda: job(staff_token, job_id)["counts"]["indexed"] >= DAYS_CREATED_BY, attempts=3000)
        with worker_paused():
            # A node fails in a healthy cluster: every replica in step first (new indices copy theirs slowly on
            # a busy machine, and a day whose only copy is on node 2 would be red, not yellow, without it).
            wait_until(lambda: with_nodes(staff_token, 2, "green"), attempts=3000)

        node("es-cluster-2", "stop")
        stopped_at = time.monotonic()
        indexed_at_stop = job(staff_token, job_id)["counts"]["indexed"]
        finished = wait_until(lambda: (found := job(staff_token, job_id))["finished_at"] and found, attempts=3000)
        one_node = wait_until(lambda: with_nodes(staff_token, 1))

        node("es-cluster-2", "start")
        # Green once node 2 has copied back the replicas it missed.
        both = wait_until(lambda: with_nodes(staff_token, 2, "green"), attempts=3000)
        green_after = time.monotonic() - stopped_at

    with override_settings(ELASTICSEARCH_URL=CLUSTER_URL):
        documents = count_documents(finished["file_id"])
    assert indexed_at_stop < LINES
    assert finished["status"] == "completed"
    assert finished["counts"]["indexed"] == LINES
    assert documents == LINES  # every line once: the ids are the line numbers, a duplicate would add one
    assert (one_node["status"], one_node["cluster_status"]) == ("up", "yellow"), one_node
    assert both["status"] == "up"
    record(
        "one of two Elasticsearch nodes stopped mid-job (30,000 lines)",
        lost=0,
        duplicates=0,
        indexed_when_stopped=indexed_at_stop,
        seconds_until_green_again=round(green_after),
    )
