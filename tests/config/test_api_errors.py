"""Every API answer is JSON, even where no API view runs; empty optional parameters read as absent."""

import pytest
from django.test import RequestFactory

from config import errors

pytestmark = pytest.mark.django_db
NOT_FOUND = {"success": False, "error": "Not found"}


@pytest.mark.parametrize("path", ["/api/no-such-thing", "/api/fraud/alerts/not-a-number", "/api/fraud/alerts/1,2"])
def test_an_api_address_no_view_matches_answers_the_json_error(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_an_api_alert_id_too_large_for_the_database_is_a_json_404(api_client):
    response = api_client.get(f"/api/fraud/alerts/{10**30}")

    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Alert not found"}


def test_a_page_address_no_view_matches_answers_the_sites_page(admin_client):
    response = admin_client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Page not found" in response.content


def test_a_server_error_under_the_api_is_json_and_a_page_elsewhere():
    api = errors.server_error(RequestFactory().get("/api/search"))
    page = errors.server_error(RequestFactory().get("/search/"))

    assert (api.status_code, api["Content-Type"]) == (500, "application/json")
    assert api.content == b'{"success": false, "error": "Internal server error"}'
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


def test_a_scan_with_a_job_id_that_is_not_text_is_a_400(api_client):
    response = api_client.post("/api/fraud/scan", {"job_id": {}}, format="json")

    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "job_id: Not a valid string."}


@pytest.mark.parametrize(
    ("path", "empty"),
    [
        ("/api/fraud/alerts", {"until": "", "since": "", "status": "", "page": "", "page_size": ""}),
        ("/api/logs/uploads", {"status": "", "page": "", "page_size": ""}),
    ],
)
def test_empty_optional_parameters_read_as_absent(api_client, path, empty):
    given = api_client.get(path, empty)

    assert given.status_code == 200
    assert given.json() == api_client.get(path).json()


def test_a_scan_with_an_unreadable_body_is_refused_not_run_over_all_events(api_client):
    response = api_client.post("/api/fraud/scan", b"[]--boundary--", content_type="multipart/form-data; boundary=b")

    assert response.status_code == 415
