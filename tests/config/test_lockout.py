"""Sign-in lockout (django-axes) on the real Redis: a username from one address is locked after 5 wrong passwords."""

import logging
import uuid
from datetime import timedelta

import pytest
from axes.handlers.proxy import AxesProxyHandler
from django.test import Client, RequestFactory, override_settings

from config.lockout import client_ip
from tests.conftest import fresh_user_id, wait_until

pytestmark = pytest.mark.django_db
PASSWORD = "the-right-long-password"
MESSAGE = "Too many failed sign-in attempts for this account from your address. Try again in 15 minutes."
ATTACKER, NEIGHBOUR = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def account(django_user_model):
    """A user no earlier run has seen (the counters outlive a test run in Redis), staff for the admin's sign-in."""
    return django_user_model.objects.create_user(
        id=fresh_user_id(), username=f"lock-{uuid.uuid4().hex[:8]}", password=PASSWORD, is_staff=True
    )


def sign_in(username: str, password: str, *, ip: str = ATTACKER, path: str = "/accounts/login/"):
    return Client().post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(username: str, times: int, **where) -> list[int]:
    return [sign_in(username, "not-the-password", **where).status_code for _ in range(times)]


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_five_wrong_passwords_lock_the_account_out_even_with_the_right_one(account, path):
    statuses = fail(account.username, 5, path=path)

    refused = sign_in(account.username, PASSWORD, path=path)

    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure already answers with the lockout page
    assert refused.status_code == 429
    assert MESSAGE in refused.content.decode()
    assert '<header class="site-header">' in refused.content.decode()  # in the site's layout
    assert "_auth_user_id" not in refused.client.session


def test_four_wrong_passwords_then_the_right_one_signs_in(account):
    fail(account.username, 4)

    response = sign_in(account.username, PASSWORD)

    assert response.status_code == 302


def test_the_same_account_from_another_address_and_another_account_from_the_same_address_still_sign_in(
    account, django_user_model
):
    other = django_user_model.objects.create_user(
        id=fresh_user_id(), username=f"lock-{uuid.uuid4().hex[:8]}", password=PASSWORD
    )
    fail(account.username, 5)

    from_elsewhere = sign_in(account.username, PASSWORD, ip=NEIGHBOUR)
    other_account = sign_in(other.username, PASSWORD)

    assert from_elsewhere.status_code == 302
    assert other_account.status_code == 302


def still_locked(username: str, ip: str) -> bool:
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=ip)
    return AxesProxyHandler.is_locked(request, {"username": username})


@override_settings(AXES_COOLOFF_TIME=timedelta(seconds=2))
def test_after_the_cool_off_the_right_password_signs_in_again(account):
    fail(account.username, 5)
    assert sign_in(account.username, PASSWORD).status_code == 429

    wait_until(lambda: not still_locked(account.username, ATTACKER), attempts=100)
    response = sign_in(account.username, PASSWORD)

    assert response.status_code == 302


def test_failures_and_the_lockout_are_logged_with_the_username_and_address(account, caplog):
    with caplog.at_level(logging.INFO):
        fail(account.username, 5)

    lockouts = [record for record in caplog.records if "Locking out" in record.getMessage()]
    assert len(lockouts) == 1
    assert lockouts[0].levelno == logging.WARNING
    assert account.username in lockouts[0].getMessage()
    assert ATTACKER in lockouts[0].getMessage()
    assert PASSWORD not in caplog.text


def test_with_redis_unreachable_sign_in_still_works_and_says_so_in_the_log(account, caplog):
    unreachable = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }

    with override_settings(CACHES=unreachable), caplog.at_level(logging.WARNING):
        wrong = sign_in(account.username, "not-the-password")
        right = sign_in(account.username, PASSWORD)

    assert (wrong.status_code, right.status_code) == (200, 302)
    assert "sign-in lockout counters unavailable" in caplog.text


@pytest.mark.parametrize(
    ("proxies", "forwarded", "peer", "expected"),
    [
        (0, "", "192.0.2.1", "192.0.2.1"),
        (0, "203.0.113.7", "192.0.2.1", "192.0.2.1"),  # no trusted proxy: the header is anyone's to forge
        (1, "203.0.113.7", "10.0.0.2", "203.0.113.7"),
        (1, "1.2.3.4, 203.0.113.7", "10.0.0.2", "203.0.113.7"),  # a forged first entry is ignored
        (2, "203.0.113.7, 10.0.0.9", "10.0.0.2", "203.0.113.7"),
        (1, "", "10.0.0.2", "10.0.0.2"),  # not through the proxy: the peer itself
    ],
)
def test_the_address_a_lockout_counts_is_the_one_the_trusted_proxies_saw(proxies, forwarded, peer, expected):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)

    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip(request) == expected
