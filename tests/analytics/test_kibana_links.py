"""Kibana links (navigation, Discover on a job, a search, analytics) are for staff only: Kibana ignores scoping."""

import pytest
from django.test import Client, override_settings

from tests.conftest import fresh_user_id
from tests.helpers import data_lines, upload_and_wait

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("kibana")]
KIBANA = "http://kibana.example:5601"


@pytest.fixture
def kibana():
    with override_settings(KIBANA_URL=KIBANA):
        yield


@pytest.fixture
def job_id(celery_worker, api_client) -> str:
    """A finished job of `user`, so its events are searchable."""
    data, _job = upload_and_wait(api_client, "web_logs.ndjson", data_lines("web_access_logs.ndjson", 12))
    return data["job_id"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pages(client: Client, job_id: str) -> dict[str, str]:
    """The pages that may link to Kibana, each checked to have rendered."""
    seen = {}
    for path in ["/uploads/", f"/jobs/{job_id}/", "/search/?q=GET", "/analytics/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        seen[path] = response.content.decode()
    assert "web_logs.ndjson" in seen[f"/jobs/{job_id}/"]
    return seen


def test_staff_see_kibana_in_the_navigation_and_discover_on_the_job_search_and_analytics_pages(
    django_user_model, job_id
):
    staff = django_user_model.objects.create_user(id=fresh_user_id(), username="ops", is_staff=True)

    seen = pages(signed_in(staff), job_id)

    assert all(f'href="{KIBANA}/app/home"' in page for page in seen.values())
    assert f"{KIBANA}/app/discover#/" in seen[f"/jobs/{job_id}/"]
    assert job_id in seen[f"/jobs/{job_id}/"].split(f"{KIBANA}/app/discover#/", 1)[1].split('"', 1)[0]
    assert f"{KIBANA}/app/discover#/" in seen["/search/?q=GET"]
    assert f"{KIBANA}/app/discover#/" in seen["/analytics/"]


def test_a_user_who_is_not_staff_sees_no_kibana_link_on_their_own_pages(user, job_id):
    seen = pages(signed_in(user), job_id)

    for path, page in seen.items():
        assert "kibana.example" not in page, path
        assert ">Kibana<" not in page, path
