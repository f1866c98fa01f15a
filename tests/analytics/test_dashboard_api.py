"""GET /api/dashboard on the real servers: the user's own jobs, ingest activity and indices; health."""

import datetime as dt
import html
import re

import pytest
from django.conf import settings
from django.test import Client

from config.es import get_es
from tests.analytics.conftest import ANALYST_ID, client_for
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload, upload_and_wait, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_dashboard_counts_my_jobs_lines_and_documents_per_daily_index(read_side, analyst):
    board = analyst.get("/api/dashboard").json()

    assert board["jobs_by_status"]["completed"] == 2
    assert sum(board["jobs_by_status"].values()) == 2
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert board["ingest"]["per_day"][-1]["day"] == today
    assert board["ingest"]["per_day"][-1]["indexed"] == 4_675 + 8_557
    assert board["ingest"]["last_24h"]["indexed"] == 4_675 + 8_557
    assert board["ingest"]["ingest_rate"] > 0
    assert sum(row["documents"] for row in board["indices"]) == 4_675 + 8_557
    assert all("size_bytes" not in row for row in board["indices"])
    assert set(board["health"]["dependencies"]) == {"mongodb", "redis", "elasticsearch", "celery"}


def test_dependency_details_on_the_dashboard_are_for_staff_only(read_side, analyst, staff_client):
    mine = analyst.get("/api/dashboard").json()["health"]
    staff = staff_client.get("/api/dashboard").json()["health"]

    # Latencies and details name hosts and errors: a member sees only up or down per dependency.
    assert mine["dependencies"]["celery"] == {"status": "up"}
    assert staff["dependencies"]["celery"]["status"] == "up"
    assert "answered" in staff["dependencies"]["celery"]["detail"]


def test_the_dashboard_never_shows_another_users_jobs_or_documents(read_side, other_user):
    board = other_user.get("/api/dashboard").json()

    assert sum(board["jobs_by_status"].values()) == 1
    assert board["ingest"]["last_24h"]["indexed"] == 3_000
    assert {row["index"][-10:-6] for row in board["indices"]} == {"2018"}  # the web logs, none of the 2016 orders
    assert sum(row["documents"] for row in board["indices"]) == 3_000


def test_a_new_user_sees_an_empty_dashboard(read_side):
    board = client_for(900_099, "newcomer").get("/api/dashboard").json()

    assert sum(board["jobs_by_status"].values()) == 0
    assert board["indices"] == []
    assert board["ingest"]["ingest_rate"] is None


def test_staff_see_every_index_with_its_disk_size(read_side, staff_client):
    board = staff_client.get("/api/dashboard").json()

    assert {row["index"][-10:] for row in board["indices"]} >= {"2016.12.01", "2018.07.22"}
    assert all(row["size_bytes"] > 0 for row in board["indices"])


def test_the_dashboard_shows_the_shards_used_of_the_clusters_budget(read_side, analyst):
    board = analyst.get("/api/dashboard").json()

    health = get_es().cluster.health()
    assert board["shards"] == {
        "used": health["active_shards"] + health["initializing_shards"] + health["unassigned_shards"],
        "budget": 1000 * health["number_of_data_nodes"],  # Elasticsearch's default per node
        "reserve": settings.LOGS_SHARD_RESERVE,
    }


def test_each_daily_index_links_to_a_search_of_its_own_day(read_side, analyst, django_user_model):
    newest = analyst.get("/api/dashboard").json()["indices"][0]
    browser = Client()
    browser.force_login(django_user_model.objects.create_user(id=ANALYST_ID, username="analyst"))

    page = browser.get("/dashboard/").content.decode()
    links = {name: html.unescape(href) for href, name in re.findall(r'<a href="([^"]+)">([\w.-]+)</a>', page)}
    response = browser.get(links[newest["index"]])

    assert response.status_code == 200
    total = re.search(r'id="search-total"><strong>([\d,]+)</strong>', response.content.decode()).group(1)
    assert int(total.replace(",", "")) == newest["documents"]
    assert newest["day"] == newest["index"][-10:].replace(".", "-")
    assert "shard-budget" in page


def test_anyone_signed_in_sees_the_elasticsearch_clusters_state_and_node_count(celery_worker, django_user_model):
    member = Client()
    member.force_login(django_user_model.objects.create_user(id=ANALYST_ID, username="analyst"))

    health = member.get("/api/dashboard").json()["health"]["dependencies"]["elasticsearch"]
    page = member.get("/dashboard/").content.decode()

    status = get_es().cluster.health()["status"]
    assert health == {"status": "up", "cluster_status": status, "nodes": 1}  # the suite's single node
    assert f'<span class="cluster">cluster {status}, 1 node</span>' in page


def test_the_board_kept_in_the_cache_counts_a_new_job_at_once(celery_worker):
    bea = client_for(900_077, "bea")
    upload_and_wait(bea, "first.ndjson", data_lines(WEB_ACCESS_LOGS.name, 1_000))
    before = bea.get("/api/dashboard").json()  # the board's job figures are now kept in the cache
    assert before["jobs_by_status"]["completed"] == 1
    assert before["ingest"]["last_24h"]["indexed"] == 1_000

    second = upload(bea, "second.ndjson", data_lines(WEB_ACCESS_LOGS.name, 2_000)).json()["data"]
    queued = bea.get("/api/dashboard").json()
    wait_for_job(bea, second["job_id"])
    after = bea.get("/api/dashboard").json()

    assert sum(queued["jobs_by_status"].values()) == 2  # the new job counts as soon as it exists
    assert after["jobs_by_status"]["completed"] == 2
    assert after["ingest"]["last_24h"]["indexed"] == after["ingest"]["per_day"][-1]["indexed"] == 3_000
    assert after["ingest"]["jobs_24h"] == 2
    assert sum(row["documents"] for row in after["indices"]) == 3_000
