"""GET /api/health against the real servers."""

import pytest
from django.test import override_settings

DEPENDENCIES = {"mongodb", "redis", "elasticsearch", "celery"}


def test_it_reports_every_dependency_up_without_login(celery_worker, client):
    response = client.get("/api/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "up"
    assert set(body["dependencies"]) == DEPENDENCIES
    for name, dependency in body["dependencies"].items():
        assert dependency["status"] == "up", name
        assert dependency["latency_ms"] >= 0


@pytest.mark.parametrize(
    ("setting", "closed_port_url", "down"),
    [
        ("REDIS_URL", "redis://127.0.0.1:1/0", "redis"),
        ("MONGODB_URI", "mongodb://127.0.0.1:1/logs_platform_test", "mongodb"),
        ("ELASTICSEARCH_URL", "http://127.0.0.1:1", "elasticsearch"),
    ],
)
def test_it_names_the_one_dependency_that_is_unreachable(celery_worker, client, setting, closed_port_url, down):
    with override_settings(**{setting: closed_port_url}):
        response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["dependencies"][down]["status"] == "down"
    assert body["dependencies"][down]["detail"]
    assert {name for name, dependency in body["dependencies"].items() if dependency["status"] == "down"} == {down}
