"""Stopping, starting and killing the real servers and the worker, as outages and crashes do."""

import os
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAUNCHERS = {"redis": "redis", "mongodb": "ferretdb", "elasticsearch": "elasticsearch"}


def _launcher(name: str, action: str) -> None:
    subprocess.run(["bash", str(ROOT / "services" / f"{LAUNCHERS[name]}.sh"), action], check=True, cwd=ROOT)


def stop(name: str) -> None:
    """Stop a server cleanly (TERM, as a restart does)."""
    _launcher(name, "stop")


def start(name: str) -> None:
    """Start a server and wait until it answers."""
    _launcher(name, "start")


def kill(name: str) -> None:
    """SIGKILL a server, as a crash or the OOM killer would."""
    pid_file = ROOT / "var" / "run" / f"{LAUNCHERS[name]}.pid"
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
