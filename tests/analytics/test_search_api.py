"""GET /api/search and /api/search/export on the real servers: totals, highlights, cursors, exports, scoping."""

import csv
import io

import orjson
import pytest
from django.test import override_settings

from config.es import get_es
from tests.analytics.conftest import ANALYST_ID, client_for
from tests.datafiles import ONLINE_RETAIL_FRANCE
from tests.helpers import SCRIPT_NOTE, data_lines, orders_with_a_script_note, upload_and_wait

ALIAS = "test-logs-ecom"


def search(client, **params) -> dict:
    response = client.get("/api/search", params)
    assert response.status_code == 200, response.json()
    return response.json()


def direct_count(query: dict, *filters: dict) -> int:
    """The same question asked of Elasticsearch itself, without our query builder."""
    return get_es().count(index=ALIAS, query={"bool": {"must": [query], "filter": list(filters)}})["count"]


def test_the_search_total_equals_a_direct_count_of_the_same_query(read_side, analyst):
    page = search(analyst, q='Underwood -"Eddie"', job_id=read_side.orders["job_id"])

    expected = direct_count(
        {"simple_query_string": {"query": 'Underwood -"Eddie"', "default_operator": "and", "lenient": True}},
        {"term": {"owner": str(ANALYST_ID)}},
        {"term": {"job_id": read_side.orders["job_id"]}},
    )
    assert expected > 0
    assert page["total"] == {"value": expected, "relation": "eq"}
    assert {result["source"]["job_id"] for result in page["results"]} == {read_side.orders["job_id"]}


def test_matches_are_highlighted_and_results_have_id_index_and_source(read_side, analyst):
    page = search(analyst, q="Underwood", job_id=read_side.orders["job_id"], page_size=5)
    first = page["results"][0]

    assert set(first) == {"id", "index", "source", "highlight"}
    assert first["id"] == f"{read_side.orders['file_id']}:{first['source']['line']}"
    assert first["index"].startswith(f"{ALIAS}-2016.12.")
    assert any(
        "<mark>Underwood</mark>" in fragment for fragments in first["highlight"].values() for fragment in fragments
    )


def test_filters_time_range_and_sort_apply(read_side, analyst):
    page = search(
        analyst,
        job_id=read_side.orders["job_id"],
        country="US",
        **{"from": "2016-12-24T00:00:00Z", "to": "2016-12-24T23:59:59Z"},
        sort="@timestamp",
        page_size=500,
    )
    times = [result["source"]["@timestamp"] for result in page["results"]]

    assert page["total"]["value"] == direct_count(
        {"match_all": {}},
        {"term": {"owner": str(ANALYST_ID)}},
        {"term": {"job_id": read_side.orders["job_id"]}},
        {"term": {"geo.country_iso_code": "US"}},
        {"range": {"@timestamp": {"gte": "2016-12-24T00:00:00Z", "lte": "2016-12-24T23:59:59Z"}}},
    )
    assert times == sorted(times)
    assert all(time.startswith("2016-12-24") for time in times)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": '"an open phrase'}, 'Query syntax: a phrase is opened with " but never closed'),
        ({"q": "(shoes | bags"}, "Query syntax: a '(' opens a group that is never closed"),
        ({"q": "shoes |"}, "Query syntax: an operator (| or +) has nothing on one side"),
        ({"from": "last tuesday"}, "from: could not read 'last tuesday' as a time"),
        ({"cursor": "not-a-cursor"}, "cursor: not a cursor this API gave out"),
        ({"bad field!": "x"}, "'bad field!' is not a field name"),
        ({"status": "4040"}, "status: an HTTP status is a number from 100 to 599"),
    ],
)
def test_bad_input_is_a_400_with_a_readable_message(analyst, params, message):
    response = analyst.get("/api/search", params)

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"].startswith(message)


def test_an_export_with_a_bad_sort_is_a_400_before_any_row_is_sent(read_side, analyst):
    response = analyst.get("/api/search/export", {"format": "ndjson", "sort": "-no such field"})

    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "'no such field' is not a field name: use letters, digits, _ @ . - and no spaces "
        "(e.g. geo.country_iso_code)",
    }


def test_relative_times_are_accepted(read_side, analyst):
    recent = search(analyst, job_id=read_side.orders["job_id"], **{"from": "now-7d"})
    ever = search(analyst, job_id=read_side.orders["job_id"], **{"from": "now-20y/d"})

    assert recent["total"]["value"] == 0  # the orders are from 2016
    assert ever["total"]["value"] == 4_675


def test_with_the_cache_unreachable_a_search_that_needs_a_cursor_is_a_503_and_one_page_still_answers(
    read_side, analyst
):
    unreachable = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    job = read_side.orders["job_id"]

    with override_settings(CACHES=unreachable):
        paged = analyst.get("/api/search", {"job_id": job, "page_size": 5})
        whole = analyst.get("/api/search", {"job_id": job, "q": '"Eddie Underwood"', "page_size": 500})

    assert paged.status_code == 503
    assert paged.json() == {
        "success": False,
        "error": "Search paging is unavailable: the cache (Redis) that keeps result sets does not answer; "
        "try again shortly",
    }
    assert whole.status_code == 200
    assert whole.json()["next"] is None
    assert whole.json()["total"]["value"] == len(whole.json()["results"]) > 0


@pytest.fixture(scope="session")
def many_events(celery_worker):
    """12,500 generated events of one user: more than Elasticsearch's 10,000-hit window."""
    owner = client_for(900_004, "pager")
    lines = b"".join(
        orjson.dumps(
            {"timestamp": f"2024-03-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z", "n": n, "page": "checkout"}
        )
        + b"\n"
        for n in range(12_500)
    )
    data, job = upload_and_wait(owner, "many.ndjson", lines)
    assert job["counts"]["indexed"] == 12_500
    return owner, data


def test_paging_past_10000_hits_returns_every_document_exactly_once(many_events):
    owner, data = many_events
    seen, cursor, pages = [], "", 0
    while True:
        page = search(owner, job_id=data["job_id"], page_size=500, cursor=cursor)
        assert page["total"] == {"value": 12_500, "relation": "eq"}
        seen.extend(result["id"] for result in page["results"])
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break

    assert pages == 26  # 25 full pages, then an empty one ends it
    assert len(seen) == len(set(seen)) == 12_500


def test_the_ndjson_export_round_trips_every_matching_document(read_side, analyst):
    response = analyst.get("/api/search/export", {"format": "ndjson", "job_id": read_side.retail["job_id"]})
    rows = [orjson.loads(line) for line in b"".join(response.streaming_content).splitlines()]

    assert response["Content-Type"] == "application/x-ndjson"
    assert len(rows) == 8_557
    assert {row["_id"] for row in rows} == {f"{read_side.retail['file_id']}:{line}" for line in range(2, 8_559)}
    document = get_es().get(index=rows[0]["_index"], id=rows[0]["_id"])["_source"]
    assert {key: value for key, value in rows[0].items() if not key.startswith("_")} == document


def test_the_csv_export_round_trips_and_keeps_numbers_as_numbers(read_side, analyst):
    response = analyst.get(
        "/api/search/export", {"format": "csv", "job_id": read_side.retail["job_id"], "InvoiceNo": "C*"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"] == "text/csv"
    assert len(rows) == 149
    assert {row["InvoiceNo"][:1] for row in rows} == {"C"}
    assert round(sum(float(row["amount"]) for row in rows), 2) == -12_311.21
    # Our own column names are written as they are (no quote before @timestamp).
    assert list(rows[0])[:4] == ["id", "index", "@timestamp", "log_type"]


def test_a_column_name_from_the_file_that_a_spreadsheet_would_run_is_neutralized_in_the_export_header(
    celery_worker,
):
    owner = client_for(900_006, "exporter")
    header, *lines = data_lines(ONLINE_RETAIL_FRANCE.name, 21).decode().splitlines()
    hostile = "=cmd|' /C calc'!A0"
    content = "\n".join([f'{header},"{hostile}"', *(f"{line},note" for line in lines)]) + "\n"
    data, job = upload_and_wait(owner, "retail-with-a-formula-column.csv", content.encode())
    assert job["counts"]["indexed"] == 20

    response = owner.get("/api/search/export", {"format": "csv", "job_id": data["job_id"]})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert rows[0][:3] == ["id", "index", "@timestamp"]
    assert "'" + hostile in rows[0]
    assert hostile not in rows[0]
    assert len(rows) == 21


def test_another_users_documents_never_appear_in_search_export_or_event_detail(read_side, analyst, other_user):
    job = read_side.orders["job_id"]
    page = search(other_user, job_id=job)
    export = other_user.get("/api/search/export", {"format": "ndjson", "job_id": job})
    first_id = search(analyst, job_id=job, page_size=1)["results"][0]["id"]

    assert page["total"]["value"] == 0
    assert b"".join(export.streaming_content) == b""
    assert analyst.get(f"/api/events/{first_id}").status_code == 200
    assert other_user.get(f"/api/events/{first_id}").status_code == 404
    assert str(ANALYST_ID) not in str(search(other_user, q="Underwood"))


def test_staff_see_everyones_events_and_can_pick_one_owner(read_side, staff_client):
    everyone = search(staff_client, job_id=[read_side.orders["job_id"], read_side.web["job_id"]])
    one = search(staff_client, job_id=[read_side.orders["job_id"], read_side.web["job_id"]], owner=str(ANALYST_ID))

    assert everyone["total"]["value"] == 4_675 + 3_000
    assert one["total"]["value"] == 4_675


def test_search_needs_credentials(client):
    assert client.get("/api/search").status_code in (401, 403)


def test_a_script_tag_in_the_data_comes_back_escaped_in_the_highlight(celery_worker):
    shopper = client_for(900_005, "shopper")
    data, _job = upload_and_wait(shopper, "orders-with-notes.ndjson", orders_with_a_script_note())

    page = search(shopper, q="gift", job_id=data["job_id"])
    fragments = [fragment for hit in page["results"] for fragment in hit["highlight"]["customer_note.text"]]

    assert page["total"]["value"] == 5
    assert page["results"][0]["source"]["customer_note"] == SCRIPT_NOTE
    assert len(fragments) == 5
    for fragment in fragments:
        assert "<script" not in fragment
        assert fragment.startswith("<mark>Gift</mark> wrap please &lt;script&gt;alert(1)&lt;")
