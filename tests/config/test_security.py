"""Security by default, checked from the outside: sign-in everywhere, CSRF, hosts, deploy checks, Flower, files."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import fresh_user_id

ROOT = Path(__file__).resolve().parents[2]
# Signing in needs no session: the pages, and the JWT pair from a password (or a new access from a refresh token).
PUBLIC = {"api/health", "accounts/login/", "admin/login/", "api/auth/token", "api/auth/token/refresh"}
# Signing out needs no session (and changes nothing without one).
SIGN_OUT = {"accounts/logout/", "admin/logout/"}
pytestmark = pytest.mark.django_db


def every_route(patterns=None, prefix: str = "") -> list[str]:
    """Every route of the URL conf, with each path parameter filled in."""
    routes = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += every_route(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


def concrete(route: str) -> str:
    if route.startswith("^") or "(?P<" in route:  # the admin's regex routes
        route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route).strip("^$").replace("\\", "")
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: "1" if m.group(1) == "int" else "x", route)


def test_every_url_needs_sign_in_except_health_and_login(client):
    routes = [route for route in every_route() if route not in PUBLIC | SIGN_OUT]

    assert len(routes) > 40
    for route in routes:
        path = concrete(route)
        response = client.get(path)
        if response.status_code == 302:
            assert "login" in response["Location"], (path, response["Location"])
        else:
            assert response.status_code in (401, 403), (path, response.status_code)


def test_session_writes_need_the_csrf_token(django_user_model):
    user = django_user_model.objects.create_user(id=fresh_user_id(), username="csrf-check", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    for method, path in [
        ("post", "/api/logs/upload"),
        ("post", "/api/logs/jobs/x/retry"),
        ("delete", "/api/logs/uploads/x"),
        ("post", "/api/fraud/alerts/1/status"),
        ("post", "/api/fraud/scan"),
        ("post", "/jobs/x/retry"),
        ("post", "/jobs/x/delete"),
        ("post", "/fraud/alerts/1/status"),
        ("post", "/accounts/logout/"),
    ]:
        assert getattr(client, method)(path).status_code == 403, path


def test_a_request_for_another_host_is_a_400(client):
    assert client.get("/accounts/login/", HTTP_HOST="evil.example").status_code == 400


def test_check_deploy_is_clean_with_production_settings():
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "a-production-secret-" + "k" * 40,
        "ALLOWED_HOSTS": "logs.example.com",
        "ENV_FILE": "/nonexistent",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def flower():
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "config.flower",
            f"--port={port}",
            "--address=127.0.0.1",
            "--basic-auth=ops:s3cret-pass",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def status(url: str, login: str | None = None) -> int:
    request = urllib.request.Request(url)  # noqa: S310 - our loopback Flower
    if login:
        request.add_header("Authorization", "Basic " + b64encode(login.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our loopback Flower
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    "path", ["/", "/workers", "/tasks", "/api/workers", "/metrics", "/healthcheck", "/static/favicon.ico"]
)
def test_flower_asks_for_its_login_on_every_path(flower, path):
    assert status(flower + path) == 401
    assert status(flower + path, "ops:wrong") == 401


def test_flower_answers_with_its_login(flower):
    assert status(flower + "/metrics", "ops:s3cret-pass") == 200
    assert status(flower + "/healthcheck", "ops:s3cret-pass") == 200


def test_the_env_file_make_writes_is_readable_by_its_owner_only(tmp_path):
    for name in ("Makefile", ".env.example"):
        shutil.copy(ROOT / name, tmp_path / name)

    subprocess.run(["make", "--no-print-directory", ".env"], cwd=tmp_path, check=True, capture_output=True)

    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    assert "SECRET_KEY=change-me" not in (tmp_path / ".env").read_text()
