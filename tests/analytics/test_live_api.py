"""GET /api/live: Server-Sent Events from a real gunicorn, of files the real worker indexes after a client connected."""

import http.client
import socket

import orjson
import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import fresh_user_id
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines, upload_and_wait
from tests.sse import EventStream
from tests.webserver import gunicorn

pytestmark = pytest.mark.django_db(transaction=True)
STREAM_SECONDS = 5
MAX_STREAMS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """A real gunicorn (1 worker, 4 threads) whose streams end after 5 s, so the tests see clients reconnect.

    One for the module: each test makes its own users, and leaves no stream open (the last test excepted)."""
    port = free_port()
    env = {"LIVE_STREAM_SECONDS": str(STREAM_SECONDS), "LIVE_MAX_STREAMS": str(MAX_STREAMS)}
    with gunicorn(port, log_name="test-live-web", env=env):
        yield port


def account(username: str, *, staff: bool = False) -> APIClient:
    """A saved user with a token (gunicorn reads the shared test database), as an API client."""
    user = get_user_model().objects.create_user(id=fresh_user_id(), username=username, is_staff=staff)
    client = APIClient()
    client.token = Token.objects.create(user=user).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {client.token}")
    client.user = user
    return client


def tail(port: int, client: APIClient, query: str = "", last_event_id: str | None = None) -> EventStream:
    """An open stream, past its first block: the reconnect delay and the position it listens from."""
    headers = {"Authorization": f"Token {client.token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    stream = EventStream(port, f"/api/live{query}", headers=headers)
    assert stream.status == 200, stream.json()
    assert stream.response.getheader("Content-Type") == "text/event-stream"
    opening = next(stream.blocks())
    assert set(opening) == {"retry", "id"}
    return stream


def collect(port: int, client: APIClient, count: int, stream: EventStream, query: str = "") -> tuple[list, EventStream]:
    """`count` events, reconnecting with Last-Event-ID whenever the server ends a stream (as EventSource does)."""
    events = stream.take(count)
    while len(events) < count:
        stream.close()
        stream = tail(port, client, query, last_event_id=stream.last_event_id)
        events += stream.take(count - len(events))
    return events, stream


def nothing_more(stream: EventStream) -> bool:
    """Read the stream until the server ends it: True if no further event came."""
    more = list(stream.events())
    stream.close()
    return more == []


def test_it_streams_the_events_of_a_file_uploaded_after_it_connected(server, celery_worker):
    ana = account("ana")
    stream = tail(server, ana)

    data, _job = upload_and_wait(ana, "access.ndjson", data_lines(WEB_ACCESS_LOGS.name, 300))
    events, stream = collect(server, ana, 300, stream)

    assert [event["id"] for event in events] == [f"{data['file_id']}:{line}" for line in range(1, 301)]
    first = events[0]
    assert set(first) == {"id", "index", "source"}
    assert first["index"] == "test-logs-ecom-2018.07.22"
    assert first["source"]["owner"] == str(ana.user.pk)
    assert first["source"]["message"] == orjson.loads(data_lines(WEB_ACCESS_LOGS.name, 1))["message"]
    assert first["source"]["ingested_at"].endswith("Z")
    assert nothing_more(stream)


def test_it_shows_only_the_users_own_events(server, celery_worker):
    ana, bruno = account("ana"), account("bruno")
    stream = tail(server, ana)

    theirs, _ = upload_and_wait(bruno, "bruno.ndjson", data_lines(WEB_ACCESS_LOGS.name, 40))
    mine, _ = upload_and_wait(ana, "ana.ndjson", data_lines(WEB_ACCESS_LOGS.name, 20))
    events, stream = collect(server, ana, 20, stream)

    assert {event["source"]["file_id"] for event in events} == {mine["file_id"]}
    assert nothing_more(stream)
    assert theirs["file_id"] != mine["file_id"]


def test_staff_see_everyone_s_events_or_one_owner_s_when_they_ask(server, celery_worker):
    ana, bruno, olga = account("ana"), account("bruno"), account("olga", staff=True)
    everyone = tail(server, olga)
    only_ana = tail(server, olga, f"?owner={ana.user.pk}")

    hers, _ = upload_and_wait(ana, "ana.ndjson", data_lines(WEB_ACCESS_LOGS.name, 10))
    his, _ = upload_and_wait(bruno, "bruno.ndjson", data_lines(WEB_ACCESS_LOGS.name, 10))
    all_events, everyone = collect(server, olga, 20, everyone)
    ana_events, only_ana = collect(server, olga, 10, only_ana, f"?owner={ana.user.pk}")

    assert {event["source"]["file_id"] for event in all_events} == {hers["file_id"], his["file_id"]}
    assert {event["source"]["file_id"] for event in ana_events} == {hers["file_id"]}
    assert nothing_more(only_ana)
    everyone.close()


def test_it_applies_the_query_and_the_filters_as_search_does(server, celery_worker):
    ana = account("ana")
    content = data_lines(WEB_ACCESS_LOGS.name, 400)
    lines = content.decode().splitlines()
    expected = [
        n for n, line in enumerate(lines, 1) if orjson.loads(line)["response"] == 404 and "windows" in line.lower()
    ]
    assert len(expected) == 5
    query = "?q=windows&status=404"
    stream = tail(server, ana, query)

    data, _ = upload_and_wait(ana, "access.ndjson", content)
    events, stream = collect(server, ana, len(expected), stream, query)

    assert [event["id"] for event in events] == [f"{data['file_id']}:{line}" for line in expected]
    assert {event["source"]["http_status"] for event in events} == {404}
    assert nothing_more(stream)
    found = ana.get("/api/search", {"q": "windows", "status": 404, "job_id": data["job_id"], "page_size": 100})
    assert sorted(hit["id"] for hit in found.json()["results"]) == sorted(event["id"] for event in events)


def test_a_reconnect_with_the_last_event_id_continues_without_repeats_or_gaps(server, celery_worker):
    ana = account("ana")
    stream = tail(server, ana)
    data, _ = upload_and_wait(ana, "access.ndjson", data_lines(WEB_ACCESS_LOGS.name, 1200))

    before, stream = collect(server, ana, 450, stream)  # stops in the middle of the file's one bulk request
    stream.close()
    after, stream = collect(server, ana, 750, tail(server, ana, last_event_id=stream.last_event_id))

    assert [event["id"] for event in before + after] == [f"{data['file_id']}:{line}" for line in range(1, 1201)]
    assert nothing_more(stream)


def test_a_stream_ends_by_itself_after_its_lifetime(server):
    ana = account("ana")
    stream = tail(server, ana)

    assert nothing_more(stream)  # the read returns: the server ended the stream


def test_it_needs_credentials(server):
    stream = EventStream(server, "/api/live", headers={})

    assert stream.status == 401
    assert stream.json() == {"success": False, "error": "Authentication credentials were not provided."}


def test_a_bad_query_is_a_400_in_json_before_the_stream_starts(server):
    ana = account("ana")
    stream = EventStream(server, '/api/live?q="unclosed', headers={"Authorization": f"Token {ana.token}"})

    assert stream.status == 400
    assert stream.response.getheader("Content-Type") == "application/json"
    assert stream.json() == {"success": False, "error": 'Query syntax: a phrase is opened with " but never closed'}


def test_a_position_it_never_gave_out_is_a_400(server):
    ana = account("ana")
    headers = {"Authorization": f"Token {ana.token}", "Last-Event-ID": "yesterday"}
    stream = EventStream(server, "/api/live", headers=headers)

    assert stream.status == 400
    assert stream.json()["error"] == "Last-Event-ID: not a position this API gave out"


# Last in the module: the server holds its streams' slots until they end.
def test_streams_beyond_the_limit_per_process_get_503_and_other_requests_still_answer(server):
    ana = account("ana")
    open_streams = [tail(server, ana) for _ in range(MAX_STREAMS)]

    refused = EventStream(server, "/api/live", headers={"Authorization": f"Token {ana.token}"})
    search = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    search.request("GET", "/api/search?q=anything", headers={"Authorization": f"Token {ana.token}"})
    assert search.getresponse().status == 200

    assert refused.status == 503
    assert refused.response.getheader("Retry-After") == "5"
    assert (
        refused.json()["error"] == "This server has as many live views open as it allows; try again in a few seconds."
    )
    for stream in open_streams:
        stream.close()
