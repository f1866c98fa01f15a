"""Management commands run from a plain shell, reading the project's .env themselves."""

import math
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tests.datafiles import WEB_ACCESS_LOGS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def test_create_api_token_from_a_plain_shell_prints_a_working_key(tmp_path, client):
    env_file = tmp_path / ".env"
    env_file.write_text(f"SECRET_KEY={'k' * 50}\nDATABASE_URL=sqlite:///{settings.DATABASES['default']['NAME']}\n")

    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_token", "someone"],
        cwd=ROOT,
        # Only PATH and where the .env is: no SECRET_KEY or DJANGO_SETTINGS_MODULE from a Makefile.
        env={"PATH": os.environ["PATH"], "ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    assert Token.objects.get(key=key).user.username == "someone"
    assert client.get("/api/logs/uploads", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def upload_file_command(live_server, tmp_path, stdout) -> subprocess.CompletedProcess:
    """`manage.py upload_file` of a real 13 MB log file against the live app, its output sent to `stdout`."""
    token = Token.objects.create(user=get_user_model().objects.create_user("shipper")).key
    return subprocess.run(
        [sys.executable, "manage.py", "upload_file", str(WEB_ACCESS_LOGS), "--url", live_server.url, "--token", token],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=600,
    )


def test_upload_file_into_a_log_file_prints_one_line_per_step_and_no_frames(celery_worker, live_server, tmp_path):
    log = tmp_path / "upload.log"
    with log.open("wb") as out:
        result = upload_file_command(live_server, tmp_path, out)
    text = log.read_text()
    uploads = [line for line in text.splitlines() if line.startswith("upload   [")]
    jobs = [line for line in text.splitlines() if line.startswith("job      [")]

    assert result.returncode == 0, result.stderr
    assert "\r" not in text
    assert 2 <= len(uploads) <= 11  # one per tenth of the file, not one per megabyte sent
    assert uploads[-1].startswith("upload   [##############################]")
    assert len(jobs) == len(set(jobs))
    assert "completed" in jobs[-1]
    assert "\nstatus   completed\n" in text


def test_upload_file_on_a_terminal_redraws_one_progress_line(celery_worker, live_server, tmp_path):
    controller, terminal = pty.openpty()
    received = bytearray()
    reader = threading.Thread(target=read_all, args=(controller, received))
    reader.start()
    try:
        result = upload_file_command(live_server, tmp_path, terminal)
    finally:
        os.close(terminal)
        reader.join(timeout=30)
        os.close(controller)
    text = received.decode().replace("\r\n", "\n")  # the terminal turns each newline into CR LF
    frames = re.findall(r"\rupload   \[", text)

    assert result.returncode == 0, result.stderr
    assert len(frames) == math.ceil(WEB_ACCESS_LOGS.stat().st_size / 2**20)  # one frame per megabyte sent
    assert "\rjob      [" in text
    assert "\nstatus   completed\n" in text


def read_all(fd: int, into: bytearray) -> None:
    """Read a terminal's output until it closes (EIO once no process holds it)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.extend(chunk)
