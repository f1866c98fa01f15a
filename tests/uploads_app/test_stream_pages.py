"""The stream pages with Django's test client: the job list's streams, a stream's page, its dead-letter CSV."""

import csv
import io
import re

import pytest
from django.test import Client

from tests.conftest import fresh_user_id, wait_until
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines
from tests.uploads_app.test_ingest_api import count_stream, ingest, settled

pytestmark = pytest.mark.django_db(transaction=True)

# Real access-log lines, then lines a spreadsheet would run as formulas if they were written as they are.
BROKEN = b"=cmd|' /C calc'!A0\n+SUM(A1)\n-1+2\n@HYPERLINK(1)\n"
LINES = data_lines(WEB_ACCESS_LOGS.name, 12)


@pytest.fixture
def browser_client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def stream(celery_worker, api_client) -> dict:
    result = ingest(api_client, LINES + BROKEN, stream="shop-web")
    answer = result.json()
    wait_until(lambda: settled(api_client, answer["stream_id"]))
    wait_until(lambda: count_stream(answer["stream_id"]) == 12)
    return answer


def test_the_job_list_shows_streams_beside_uploads(browser_client, stream):
    page = browser_client.get("/jobs/").content.decode()

    assert f'href="/streams/{stream["stream_id"]}/"' in page
    assert ">shop-web</a>" in page
    assert "<h2>Uploads</h2>" in page


def test_a_streams_page_shows_its_counts_its_last_events_and_its_rejected_lines(browser_client, stream):
    response = browser_client.get(f"/streams/{stream['stream_id']}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Stream shop-web" in page
    assert 'data-count="received">16<' in page and 'data-count="indexed">12<' in page
    assert 'data-count="dead_lettered">4<' in page
    assert "every line accounted for" in page
    assert page.count('href="/search/events/') == 10  # the last ten events
    assert "Rejected lines (4)" in page and "Not valid JSON" in page
    assert 'hx-trigger="every 5s"' in page


def test_the_rejected_lines_download_is_safe_to_open_in_a_spreadsheet(browser_client, stream):
    response = browser_client.get(f"/streams/{stream['stream_id']}/dead-letters.csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"] == "text/csv"
    assert rows[0] == ["received_at", "line", "reason", "raw"]
    assert [row[1] for row in rows[1:]] == ["13", "14", "15", "16"]
    assert [row[3] for row in rows[1:]] == ["'=cmd|' /C calc'!A0", "'+SUM(A1)", "'-1+2", "'@HYPERLINK(1)"]


def test_another_users_stream_page_and_download_are_not_found(stream, django_user_model):
    other = django_user_model.objects.create_user(id=fresh_user_id(), username="carla", password="a-long-password")
    client = Client()
    client.force_login(other)

    assert client.get(f"/streams/{stream['stream_id']}/").status_code == 404
    assert client.get(f"/streams/{stream['stream_id']}/dead-letters.csv").status_code == 404


def test_the_stream_page_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/streams/abc/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_streamed_events_page_links_to_its_stream(browser_client, stream):
    page = browser_client.get(f"/streams/{stream['stream_id']}/").content.decode()
    event_url = re.search(r'href="(/search/events/[^"]+/)"', page).group(1)

    event = browser_client.get(event_url).content.decode()

    assert f'href="/streams/{stream["stream_id"]}/">Its stream</a>' in event
    assert f'href="/search/?stream_id={stream["stream_id"]}">Events of the same stream</a>' in event
