"""A real gunicorn of the app (test settings, keep-alive off as in production) for tests that watch a web process."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn", "--timeout", "120"]


def answers(port: int, path: str) -> bool:
    """Whether the server answers at all (any status)."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@contextmanager
def gunicorn(
    port: int,
    *,
    log_name: str,
    env: dict[str, str] | None = None,
    app: str = "config.wsgi",
    ready_path: str = "/accounts/login/",
) -> Iterator[subprocess.Popen]:
    """One worker of `app` with 4 threads on 127.0.0.1:port, its output in var/log/<log_name>.log."""
    log_path = ROOT / "var" / "log" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [*GUNICORN, app, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--keep-alive", "0"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: process.poll() is not None or answers(port, ready_path), attempts=300)
            assert process.poll() is None, f"gunicorn did not start: see {log_path}"
            yield process
        finally:
            process.terminate()
            process.wait(timeout=20)


def worker_pids(server: subprocess.Popen) -> list[int]:
    """The pids of gunicorn's worker processes (the master's children)."""
    return [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
