"""Settings come from the environment (and the project's .env); bad values fail at start-up, loudly."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int

ROOT = Path(__file__).resolve().parents[2]


def start_django(env: dict) -> subprocess.CompletedProcess:
    """Load the production settings module in a fresh interpreter, as manage.py would."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_chunk_size_of_zero_is_refused_with_a_clear_message(tmp_path):
    result = start_django({"SECRET_KEY": "x" * 50, "LOGS_CHUNK_MB": "0", "ENV_FILE": str(tmp_path / "none")})

    assert result.returncode != 0
    assert "LOGS_CHUNK_MB must be at least 1, not 0" in result.stderr


def test_a_missing_secret_key_is_refused_outside_debug(tmp_path):
    result = start_django({"ENV_FILE": str(tmp_path / "none")})

    assert "Environment variable SECRET_KEY is required" in result.stderr


def test_values_in_the_env_file_are_read_and_real_variables_win(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=from-the-env-file-" + "x" * 40 + "\nLOGS_CHUNK_MB=3\nLOGS_MAX_UPLOAD_MB=7\n")

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SECRET_KEY[:18], settings.LOGS_CHUNK_MB, settings.LOGS_MAX_UPLOAD_MB)",
        ],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ENV_FILE": str(env_file),
            "LOGS_MAX_UPLOAD_MB": "9",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.split() == ["from-the-env-file-", "3", "9"], result.stderr


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("0", False), ("", False), ("On", True)])
def test_booleans_accept_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("SOME_FLAG", value)

    assert env_bool("SOME_FLAG") is expected


def test_a_boolean_that_is_neither_is_refused(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")

    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG must be true or false"):
        env_bool("SOME_FLAG")


def test_a_number_that_is_not_whole_is_refused(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "2.5")

    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER must be a whole number"):
        env_int("SOME_NUMBER", 1)


def test_every_setting_read_from_the_environment_is_documented():
    code = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r'env_\w+\("([A-Z0-9_]+)"', code)) | set(re.findall(r'environ\.get\("([A-Z0-9_]+)"', code))
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()

    assert len(names) > 15
    assert [name for name in sorted(names) if name not in example] == []
    assert [name for name in sorted(names) if f"`{name}`" not in readme] == []
