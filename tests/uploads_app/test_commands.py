"""Management commands run from a plain shell, reading the project's .env themselves."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

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
