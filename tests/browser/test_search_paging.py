"""Search paging over 450 daily indices, in the browser and through GET /api/search: short cursors, every
document once, a cursor bound to its user.

One module for both sides because its data set (450 daily indices, through the real pipeline) is costly to make.
"""

import base64
import datetime as dt

import orjson
import pytest
from django.conf import settings
from django.core.cache import cache
from playwright.sync_api import expect

from analytics.cursors import cache_key
from config.es import get_es
from ingestion.contract import day_of_daily_index
from tests.analytics.conftest import client_for
from tests.browser.conftest import PASSWORD, screenshot, sign_in
from tests.helpers import one_transaction_a_day

pytestmark = pytest.mark.django_db(transaction=True)

OWNER_ID = 900_131  # its own: the analytics figures test owns 900_110 to 900_112
DAYS = 450
FIRST_DAY = dt.date(2019, 1, 1)
EXPIRED = {"success": False, "error": "cursor: this result set has expired; start the search again"}


@pytest.fixture(scope="module")
def a_year_and_more(celery_worker):
    """One transaction a day for 450 days, for one user: the alias then spans 450 daily indices or more."""
    owner = client_for(OWNER_ID, "hana")
    with one_transaction_a_day(owner, first_day=FIRST_DAY, days=DAYS) as uploads:
        yield owner, uploads


def daily_indices() -> list[str]:
    prefix = settings.LOGS_INDEX_PREFIX
    rows = get_es().cat.indices(index=f"{prefix}-*", h="index", format="json")
    return [row["index"] for row in rows if day_of_daily_index(prefix, row["index"])]


def search(client, **params) -> dict:
    response = client.get("/api/search", params)
    assert response.status_code == 200, response.json()
    return response.json()


def job_ids(uploads: list[dict]) -> list[str]:
    return [data["job_id"] for data in uploads]


def test_paging_to_page_3_over_450_daily_indices_sees_every_document_once_with_short_cursors(a_year_and_more):
    owner, uploads = a_year_and_more
    assert len(daily_indices()) >= DAYS

    pages, cursor = [], ""
    for _ in range(3):
        page = search(owner, job_id=job_ids(uploads), page_size=150, cursor=cursor)
        pages.append(page)
        cursor = page["next"]
        assert cursor is not None
        assert len(cursor) < 1024

    ids = [result["id"] for page in pages for result in page["results"]]
    expected = {f"{data['file_id']}:{line}" for data in uploads for line in range(2, 2 + data["total_lines"])}
    assert len(ids) == len(set(ids)) == DAYS
    assert set(ids) == expected
    days = [result["source"]["@timestamp"][:10] for page in pages for result in page["results"]]
    assert days == [str(FIRST_DAY + dt.timedelta(days=offset)) for offset in range(DAYS - 1, -1, -1)]
    assert search(owner, job_id=job_ids(uploads), page_size=150, cursor=cursor) == {
        "total": {"value": DAYS, "relation": "eq"},
        "results": [],
        "next": None,
    }


def newest_day(skipped: int) -> str:
    return str(FIRST_DAY + dt.timedelta(days=DAYS - 1 - skipped))


def test_the_search_page_goes_to_page_3_by_its_next_page_links(page, a_year_and_more, django_user_model):
    django_user_model.objects.create_user(id=OWNER_ID, username="hana", password=PASSWORD)
    sign_in(page, "hana")
    page.goto("/search/")
    expect(page.locator("#search-total")).to_have_text("450 matching events")
    first_time = page.locator("#search-results .result time").first
    expect(first_time).to_contain_text(newest_day(0))

    for number in (2, 3):
        page.get_by_role("link", name="Next page").click()
        expect(first_time).to_contain_text(newest_day(25 * (number - 1)))
        assert len(page.url) < 1024

    expect(page.locator("#search-results .result")).to_have_count(25)
    expect(page.locator("#search-results .result time").last).to_contain_text(newest_day(74))
    screenshot(page, "search-page-3")


def test_another_users_cursor_is_refused_like_an_expired_one(a_year_and_more):
    owner, uploads = a_year_and_more
    cursor = search(owner, job_id=job_ids(uploads), page_size=10)["next"]

    response = client_for(OWNER_ID + 1, "bruno").get(
        "/api/search", {"job_id": job_ids(uploads), "page_size": 10, "cursor": cursor}
    )

    assert response.status_code == 410
    assert response.json() == EXPIRED
    assert search(owner, job_id=job_ids(uploads), page_size=10, cursor=cursor)["results"]


def test_a_cursor_whose_result_set_expired_answers_410(a_year_and_more):
    owner, uploads = a_year_and_more
    cursor = search(owner, job_id=job_ids(uploads), page_size=10)["next"]
    key = orjson.loads(base64.urlsafe_b64decode(cursor))["key"]
    cache.delete(cache_key(key))  # what the cache does when the keep-alive runs out

    response = owner.get("/api/search", {"job_id": job_ids(uploads), "page_size": 10, "cursor": cursor})

    assert response.status_code == 410
    assert response.json() == EXPIRED
