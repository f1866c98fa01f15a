"""Uploads are throttled per user (counters in the real Redis cache)."""

import uuid

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.throttling import UploadThrottle
from tests.helpers import upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_user_over_the_upload_rate_gets_429_with_a_json_error(django_user_model, monkeypatch):
    monkeypatch.setattr(UploadThrottle, "THROTTLE_RATES", {"uploads": "2/minute"})
    # A user id no other test had, so no earlier upload counts against it.
    user = django_user_model.objects.create_user(id=10**6 + uuid.uuid4().int % 10**6, username="busy")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    statuses = [upload(client, "notes.txt", b"x\n").status_code for _ in range(2)]
    third = upload(client, "notes.txt", b"x\n")

    assert statuses == [400, 400]
    assert third.status_code == 429
    assert third.json()["success"] is False
    assert "throttled" in third.json()["error"].lower()
