"""A non-staff user's `owner=` is ignored: search, export, panels and the dashboard stay on their own documents."""

import orjson
import pytest

from config.es import get_es
from tests.analytics.conftest import ANALYST_ID, OTHER_ID
from tests.analytics.test_panels import panel

pytestmark = pytest.mark.django_db(transaction=True)
ALIAS = "test-logs-ecom"
ASKING_FOR_THE_ANALYST = {"owner": str(ANALYST_ID)}


def documents_owned_by(owner_id: int) -> int:
    return get_es().count(index=ALIAS, query={"term": {"owner": str(owner_id)}})["count"]


@pytest.fixture
def own_documents(read_side) -> int:
    """The other user's own documents; the analyst has many more, which the other user must never see."""
    assert documents_owned_by(ANALYST_ID) > 0
    return documents_owned_by(OTHER_ID)


def test_search_with_another_owner_shows_only_my_documents(own_documents, other_user):
    page = other_user.get("/api/search", {**ASKING_FOR_THE_ANALYST, "page_size": 500}).json()

    assert page["total"] == {"value": own_documents, "relation": "eq"}
    assert {hit["source"]["owner"] for hit in page["results"]} == {str(OTHER_ID)}


def test_export_with_another_owner_streams_only_my_documents(own_documents, other_user):
    response = other_user.get("/api/search/export", {**ASKING_FOR_THE_ANALYST, "format": "ndjson"})
    rows = [orjson.loads(line) for line in b"".join(response.streaming_content).splitlines()]

    assert len(rows) == own_documents
    assert {row["owner"] for row in rows} == {str(OTHER_ID)}


def test_panels_with_another_owner_count_only_my_documents(own_documents, other_user):
    summary = panel(other_user, "summary", **ASKING_FOR_THE_ANALYST)
    owners = panel(other_user, "top", field="owner", **ASKING_FOR_THE_ANALYST)

    assert summary["events"] == own_documents
    assert [(row["value"], row["count"]) for row in owners["values"]] == [(str(OTHER_ID), own_documents)]
    for name in ("timeline", "categories", "geo", "status", "heatmap"):
        assert panel(other_user, name, **ASKING_FOR_THE_ANALYST) == panel(other_user, name), name


def test_the_dashboard_with_another_owner_shows_only_my_jobs_and_documents(own_documents, other_user):
    board = other_user.get("/api/dashboard", ASKING_FOR_THE_ANALYST).json()

    assert sum(board["jobs_by_status"].values()) == 1
    assert sum(row["documents"] for row in board["indices"]) == own_documents
