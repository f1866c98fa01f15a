"""Collected static files have hashed names (`make run`), so browsers never run stale JS after an upgrade."""

import os
import re
import subprocess
import sys
import urllib.request

from tests.webserver import ROOT, gunicorn

PORT = 8125


def fetch(path: str) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=10) as response:
        return response.read().decode(), response.headers["Cache-Control"] or ""


def test_a_collected_install_links_hashed_files_and_serves_them_for_good(tmp_path):
    env = {"TEST_STATIC_ROOT": str(tmp_path / "static")}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env},
        check=True,
        timeout=300,
    )

    with gunicorn(PORT, log_name="test-static-web", env=env):
        page, _ = fetch("/accounts/login/")
        stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
        script = re.search(r'src="(/static/django_htmx/[\w.-]+\.[0-9a-f]{12}\.js)"', page)
        css, css_cache = fetch(stylesheet.group(1))
        _, js_cache = fetch(script.group(1))

    assert ".site-header" in css
    assert "immutable" in css_cache
    assert "immutable" in js_cache
