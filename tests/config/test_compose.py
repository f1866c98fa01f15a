"""compose.yaml parses and names every service of the deployment."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_names_every_service_with_a_healthcheck_for_each_server():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]

    assert set(services) == {
        "web",
        "worker",
        "beat",
        "flower",
        "redis",
        "mongo",
        "postgres",
        "elasticsearch",
        "kibana",
    }
    for server in ("redis", "mongo", "postgres", "elasticsearch", "kibana", "web"):
        assert "healthcheck" in services[server], server
    assert services["elasticsearch"]["image"].endswith(":8.19.21")
    assert services["kibana"]["image"].endswith(":8.19.21")
    assert set(compose["volumes"]) >= {"uploads", "redis", "mongo", "postgres", "elasticsearch"}


def test_the_dockerfile_builds_the_image_compose_uses():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    dockerfile = compose["services"]["web"]["build"]["dockerfile"]

    assert (ROOT / dockerfile).is_file()
