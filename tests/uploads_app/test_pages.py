"""The upload and job pages with Django's test client: sign-in, ownership, CSRF, escaping, downloads."""

import csv
import io

import pytest
from django.test import Client

from tests.conftest import fresh_user_id
from tests.helpers import data_lines, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)

BROKEN = data_lines("web_access_logs.ndjson", 2) + b"=cmd|' /C calc'!A0\n+SUM(A1)\n-1+2\n\tTAB\n"


@pytest.fixture
def browser_client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def finished_job(celery_worker, api_client):
    _data, job = upload_and_wait(api_client, "<img src=x onerror=alert(1)>.ndjson", BROKEN)
    return job


@pytest.mark.parametrize(
    "path",
    ["/", "/uploads/", "/jobs/", "/jobs/abc/", "/jobs/abc/dead-letters.csv", "/jobs/abc/set-aside.csv", "/api/docs/"],
)
def test_every_page_sends_an_anonymous_visitor_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_sign_in_page_is_the_sites_own(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b"<h1>Sign in</h1>" in response.content
    assert b"IP Geolocation by DB-IP" in response.content


def test_the_home_page_is_the_upload_page_once_signed_in(browser_client):
    response = browser_client.get("/")

    assert response.status_code == 200
    assert b"Upload log files" in response.content
    assert b"100 MB" in response.content


def test_a_file_name_with_markup_is_shown_escaped(browser_client, finished_job):
    for path in ("/jobs/", f"/jobs/{finished_job['job_id']}/"):
        page = browser_client.get(path).content.decode()

        assert "&lt;img src=x onerror=alert(1)&gt;.ndjson" in page
        assert "<img src=x" not in page


def test_the_rejected_rows_download_neutralizes_every_formula_cell(browser_client, finished_job):
    response = browser_client.get(f"/jobs/{finished_job['job_id']}/dead-letters.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"] == "text/csv"
    assert rows[0] == ["line", "reason", "raw"]
    assert [row[2] for row in rows[1:]] == ["'=cmd|' /C calc'!A0", "'+SUM(A1)", "'-1+2", "'\tTAB"]
    assert all(not row[1].startswith(("=", "+", "-", "@")) for row in rows[1:])


def test_another_users_job_is_not_found_on_every_page_and_action(finished_job, django_user_model):
    intruder = Client()
    intruder.force_login(django_user_model.objects.create_user(id=fresh_user_id(), username="bruno"))
    job_id = finished_job["job_id"]
    for method, path in (
        ("get", f"/jobs/{job_id}/"),
        ("get", f"/jobs/{job_id}/dead-letters.csv"),
        ("get", f"/jobs/{job_id}/retry"),
        ("post", f"/jobs/{job_id}/retry"),
        ("get", f"/jobs/{job_id}/delete"),
        ("post", f"/jobs/{job_id}/delete"),
        ("get", f"/jobs/{job_id}/set-aside.csv"),
        ("get", f"/jobs/{job_id}/reindex-fallback"),
        ("post", f"/jobs/{job_id}/reindex-fallback"),
    ):
        response = getattr(intruder, method)(path)
        assert response.status_code == 404, (method, path)
        assert b"Page not found" in response.content


def test_retry_and_delete_refuse_a_post_without_the_csrf_token(user, finished_job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    for action in ("retry", "delete", "reindex-fallback"):
        response = client.post(f"/jobs/{finished_job['job_id']}/{action}")
        assert response.status_code == 403
        assert b"This form has expired" in response.content
    assert client.get(f"/jobs/{finished_job['job_id']}/").status_code == 200


def test_the_admin_upload_jobs_pages_are_for_staff_only(browser_client, user, finished_job):
    for path in ("/admin/upload-jobs/", f"/admin/upload-jobs/{finished_job['job_id']}/"):
        response = browser_client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")

    user.is_staff = True
    user.save()
    page = browser_client.get("/admin/upload-jobs/?status=completed_with_errors")
    assert page.status_code == 200
    assert finished_job["job_id"] in page.content.decode()
    index = browser_client.get("/admin/").content.decode()
    assert "Upload jobs" in index


def test_deleting_while_elasticsearch_is_down_says_so_and_keeps_the_job(browser_client, finished_job, settings):
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:1"

    response = browser_client.post(f"/jobs/{finished_job['job_id']}/delete", follow=True)

    assert response.status_code == 200
    assert b"The search index is unavailable, so nothing was deleted; try again shortly" in response.content
    assert finished_job["filename"].encode().replace(b"<", b"&lt;").replace(b">", b"&gt;") in response.content


def test_a_server_error_page_is_plain_words_in_the_sites_layout(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/jobs/"))

    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"Traceback" not in response.content
