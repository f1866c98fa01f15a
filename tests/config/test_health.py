"""GET /api/health against the real servers."""

import pytest
from django.test import override_settings

from config import mongo


@pytest.fixture
def client_anonymous(client):
    return client


def test_it_reports_every_dependency_up_without_login(celery_worker, client_anonymous):
    response = client_anonymous.get("/api/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "up"
    assert set(body["dependencies"]) == {"mongodb", "redis", "elasticsearch", "celery"}
    for name, dependency in body["dependencies"].items():
        assert dependency["status"] == "up", name
        assert dependency["latency_ms"] >= 0


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_it_names_redis_when_redis_is_unreachable(celery_worker, client_anonymous):
    response = client_anonymous.get("/api/health")

    assert response.status_code == 503
    dependencies = response.json()["dependencies"]
    assert dependencies["redis"]["status"] == "down"
    assert dependencies["mongodb"]["status"] == "up"
    assert dependencies["elasticsearch"]["status"] == "up"


@override_settings(MONGODB_URI="mongodb://127.0.0.1:1/logs_platform_test")
def test_it_names_mongodb_when_mongodb_is_unreachable(celery_worker, client_anonymous):
    response = client_anonymous.get("/api/health")

    assert response.status_code == 503
    dependencies = response.json()["dependencies"]
    assert dependencies["mongodb"]["status"] == "down"
    assert dependencies["redis"]["status"] == "up"


@override_settings(ELASTICSEARCH_URL="http://127.0.0.1:1")
def test_it_names_elasticsearch_when_elasticsearch_is_unreachable(celery_worker, client_anonymous):
    response = client_anonymous.get("/api/health")

    assert response.status_code == 503
    assert response.json()["dependencies"]["elasticsearch"]["status"] == "down"
    assert response.json()["dependencies"]["mongodb"]["status"] == "up"


def test_the_mongodb_check_reaches_the_real_server():
    mongo.ping(2.0)
