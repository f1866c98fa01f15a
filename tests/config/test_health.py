"""GET /api/health against the real servers: up or down for anyone (shared for a few seconds), details for staff."""

import socket

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.es import get_es
from config.health import PUBLIC_CACHE_KEY
from tests.conftest import fresh_user_id, wait_until

DEPENDENCIES = {"mongodb", "redis", "elasticsearch", "celery"}
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_shared_answer():
    """Each test starts without the shared anonymous answer an earlier one left."""
    cache.delete(PUBLIC_CACHE_KEY)
    yield
    cache.delete(PUBLIC_CACHE_KEY)


@pytest.fixture
def staff_client(django_user_model) -> Client:
    """A signed-in staff member's browser, beside the anonymous `client`."""
    staff = Client()
    staff.force_login(django_user_model.objects.create_user(id=fresh_user_id(), username="ops", is_staff=True))
    return staff


def test_staff_get_every_dependency_up_with_its_latency(celery_worker, staff_client):
    response = staff_client.get("/api/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "up"
    assert set(body["dependencies"]) == DEPENDENCIES
    for name, dependency in body["dependencies"].items():
        assert dependency["status"] == "up", name
        assert dependency["latency_ms"] >= 0


def test_staff_see_the_elasticsearch_clusters_state_and_node_count(celery_worker, staff_client):
    elasticsearch = staff_client.get("/api/health").json()["dependencies"]["elasticsearch"]

    cluster = get_es().cluster.health()
    assert elasticsearch["cluster_status"] == elasticsearch["detail"] == cluster["status"]
    assert elasticsearch["nodes"] == cluster["number_of_nodes"] == 1  # the suite's single node


def test_staff_with_an_api_token_get_the_details_too(celery_worker, django_user_model):
    staff = django_user_model.objects.create_user(id=fresh_user_id(), username="ops-token", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")

    response = client.get("/api/health")

    assert response.status_code == 200
    assert set(response.json()["dependencies"]) == DEPENDENCIES


@pytest.mark.parametrize(
    ("setting", "closed_port_url", "down"),
    [
        ("REDIS_URL", "redis://127.0.0.1:1/0", "redis"),
        ("MONGODB_URI", "mongodb://127.0.0.1:1/logs_platform_test", "mongodb"),
        ("ELASTICSEARCH_URL", "http://127.0.0.1:1", "elasticsearch"),
    ],
)
def test_staff_see_the_one_dependency_that_is_unreachable(celery_worker, staff_client, setting, closed_port_url, down):
    with override_settings(**{setting: closed_port_url}):
        response = staff_client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["dependencies"][down]["status"] == "down"
    assert body["dependencies"][down]["detail"]
    assert {name for name, dependency in body["dependencies"].items() if dependency["status"] == "down"} == {down}


def test_anyone_gets_up_and_nothing_else(celery_worker, client):
    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "up"}
    assert socket.gethostname() not in response.content.decode()  # the Celery worker's name carries it


@override_settings(ELASTICSEARCH_URL="http://127.0.0.1:1")
def test_anyone_gets_down_as_a_503_without_the_reason_or_any_address(celery_worker, client):
    response = client.get("/api/health")

    assert response.status_code == 503
    assert response.json() == {"status": "down"}
    for revealing in ("127.0.0.1", "Error", "elasticsearch", socket.gethostname()):
        assert revealing not in response.content.decode()


def test_a_signed_in_user_who_is_not_staff_gets_the_anonymous_answer(celery_worker, client, user):
    client.force_login(user)

    response = client.get("/api/health")

    assert response.json() == {"status": "up"}


def test_the_anonymous_answer_is_shared_for_a_few_seconds_then_checked_again(celery_worker, client, staff_client):
    first = client.get("/api/health")

    with override_settings(ELASTICSEARCH_URL="http://127.0.0.1:1"):
        # Elasticsearch is now unreachable: an anonymous caller still gets the shared answer (no check ran),
        # staff get a fresh check; once the shared answer has expired, anyone sees "down".
        second = client.get("/api/health")
        staff = staff_client.get("/api/health")
        later = wait_until(lambda: (answer := client.get("/api/health")).status_code == 503 and answer, attempts=200)

    assert (first.status_code, first.json()) == (200, {"status": "up"})
    assert (second.status_code, second.json()) == (200, {"status": "up"})
    assert staff.json()["dependencies"]["elasticsearch"]["status"] == "down"
    assert later.json() == {"status": "down"}


def test_with_the_cache_unreachable_the_anonymous_answer_is_checked_afresh_not_a_500(celery_worker, client):
    unreachable = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }

    with override_settings(CACHES=unreachable):
        response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "up"}
