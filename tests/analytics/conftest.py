"""Events for the read side: the shared files ingested once, through the real API and worker, by two users.

The users are never saved: the API trusts `force_authenticate`, and documents only carry the owner's id,
so these fixtures live for the whole session without a database row that a transactional test would flush.
"""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.datafiles import ECOMMERCE_ORDERS, ONLINE_RETAIL_FRANCE, WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload_and_wait

ANALYST_ID, OTHER_ID, STAFF_ID = 900_001, 900_002, 900_003


def client_for(user_id: int, username: str, *, staff: bool = False) -> APIClient:
    user = get_user_model()(id=user_id, username=username, is_staff=staff)
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


@pytest.fixture(scope="session")
def analyst():
    return client_for(ANALYST_ID, "analyst")


@pytest.fixture(scope="session")
def other_user():
    return client_for(OTHER_ID, "other")


@pytest.fixture(scope="session")
def staff_client():
    return client_for(STAFF_ID, "chief", staff=True)


@pytest.fixture(scope="session")
def read_side(celery_worker, analyst, other_user):
    """Orders and retail rows for the analyst; web access logs for the other user."""
    orders, _ = upload_and_wait(analyst, ECOMMERCE_ORDERS.name, ECOMMERCE_ORDERS.read_bytes())
    retail, _ = upload_and_wait(analyst, ONLINE_RETAIL_FRANCE.name, ONLINE_RETAIL_FRANCE.read_bytes())
    web, _ = upload_and_wait(other_user, "web_access_logs.ndjson", data_lines(WEB_ACCESS_LOGS.name, 3000))
    return SimpleNamespace(orders=orders, retail=retail, web=web)
