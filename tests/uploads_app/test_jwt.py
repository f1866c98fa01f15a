"""JWT for REST clients: a pair from a username and password, access to the API, refresh, and the sign-in lockout."""

import datetime as dt
import uuid

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.conftest import fresh_user_id

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-jwt-password"
LOCKED = "Too many failed sign-in attempts for this account from your address. Try again in 15 minutes."


@pytest.fixture
def person(django_user_model):
    """A user no earlier run has seen: the lockout counters outlive a run in Redis."""
    return django_user_model.objects.create_user(
        id=fresh_user_id(), username=f"jwt-{uuid.uuid4().hex[:8]}", password=PASSWORD
    )


def obtain(username: str, password: str):
    return APIClient().post("/api/auth/token", {"username": username, "password": password}, format="json")


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_username_and_password_give_an_access_token_that_reads_the_api(person):
    response = obtain(person.username, PASSWORD)

    assert response.status_code == 200
    pair = response.json()
    searched = bearer(pair["access"]).get("/api/search")
    assert searched.status_code == 200
    assert set(searched.json()) == {"total", "results", "next"}


def test_the_access_token_lives_ten_minutes(person):
    access = AccessToken(obtain(person.username, PASSWORD).json()["access"])

    assert access["exp"] - access["iat"] == 600


def test_a_refresh_token_gives_a_new_access_token(person):
    refresh = obtain(person.username, PASSWORD).json()["refresh"]

    response = APIClient().post("/api/auth/token/refresh", {"refresh": refresh}, format="json")

    assert response.status_code == 200
    assert bearer(response.json()["access"]).get("/api/logs/uploads").status_code == 200


def test_an_expired_access_token_is_refused(person):
    token = AccessToken.for_user(person)
    token.set_exp(from_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), lifetime=dt.timedelta(minutes=10))

    response = bearer(str(token)).get("/api/search")

    assert response.status_code == 401
    assert response.json()["success"] is False


def test_a_garbled_access_token_is_refused(person):
    access = obtain(person.username, PASSWORD).json()["access"]

    response = bearer(access[:-6] + "abcdef").get("/api/search")

    assert response.status_code == 401


def test_a_wrong_password_gets_no_token(person):
    response = obtain(person.username, "not-it")

    assert response.status_code == 401
    assert "access" not in response.json()


def test_the_sign_in_lockout_holds_for_tokens_too(person):
    statuses = [obtain(person.username, "not-it").status_code for _ in range(5)]

    refused = obtain(person.username, PASSWORD)

    assert statuses == [401, 401, 401, 401, 429]  # the fifth failure already answers with the lockout
    assert refused.status_code == 429
    assert refused.json() == {"success": False, "error": LOCKED}
