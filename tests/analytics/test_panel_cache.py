"""Cached analytics answers on the real servers: ready after a job finishes, never stale after the events change."""

import pytest
from django.core.cache import cache
from django.test import Client

from analytics.filters import EventFilters
from analytics.selectors import _cache_key
from tests.analytics.conftest import client_for
from tests.conftest import fresh_user_id, wait_until
from tests.datafiles import ECOMMERCE_ORDERS
from tests.helpers import data_lines, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)


def _summary(client, **params) -> dict:
    response = client.get("/api/analytics/summary", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_finished_job_leaves_its_owners_analytics_page_in_the_cache(celery_worker):
    client = client_for(fresh_user_id(), "ines")
    upload_and_wait(client, ECOMMERCE_ORDERS.name, data_lines(ECOMMERCE_ORDERS.name, 300))
    key = _cache_key("summary", {}, client.user, EventFilters())

    # The warm-up runs on the worker once the job has finished: the first visit finds the page ready.
    ready = wait_until(lambda: cache.get(key))
    assert ready["events"] == ready["orders"] == 300
    assert _summary(client) == ready


def test_deleting_an_upload_is_seen_at_once_not_served_from_the_cache(celery_worker):
    client = client_for(fresh_user_id(), "jonas")
    upload_and_wait(client, "first.ndjson", data_lines(ECOMMERCE_ORDERS.name, 200))
    second, _ = upload_and_wait(client, "second.ndjson", data_lines(ECOMMERCE_ORDERS.name, 50))
    assert _summary(client)["events"] == 250
    assert _summary(client)["events"] == 250  # now from the cache

    assert client.delete(f"/api/logs/uploads/{second['file_id']}").status_code == 200

    assert _summary(client)["events"] == 200


def test_the_staff_page_is_made_ready_after_a_job_only_once_staff_have_opened_it(celery_worker, django_user_model):
    staff = django_user_model.objects.create_user(id=fresh_user_id(), username="petra", is_staff=True)
    staff_key = lambda: _cache_key("summary", {}, staff, EventFilters())  # noqa: E731 - the key moves with the data
    owner = client_for(fresh_user_id(), "karl")

    # No staff member has looked: the job's warm-up makes the owner's page ready and leaves the staff page alone.
    upload_and_wait(owner, "first.ndjson", data_lines(ECOMMERCE_ORDERS.name, 40))
    wait_until(lambda: cache.get(_cache_key("summary", {}, owner.user, EventFilters())))
    assert cache.get(staff_key()) is None

    page = Client()
    page.force_login(staff)
    assert page.get("/analytics/").status_code == 200

    # From now on the staff page, over every owner's events, is ready after each job too.
    upload_and_wait(owner, "second.ndjson", data_lines(ECOMMERCE_ORDERS.name, 60))
    ready = wait_until(lambda: cache.get(staff_key()))
    assert ready["events"] >= 100
    assert page.get("/api/analytics/summary").json() == ready
