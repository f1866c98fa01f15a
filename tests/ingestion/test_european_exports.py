"""A European spreadsheet export (';' between fields, decimal commas, the day first) indexed as the numbers and days
it means, beside the same rows exported the usual way."""

import pytest

from tests.helpers import ISSUE_ROWS, documents_of, european_export, retail_csv, upload_and_wait

pytestmark = pytest.mark.django_db(transaction=True)


def facts(file_id: str) -> list[tuple]:
    return [(row["line"], row["UnitPrice"], row.get("amount"), row["@timestamp"]) for row in documents_of(file_id)]


@pytest.fixture
def usual_export(celery_worker, api_client) -> str:
    """The usual export of the same line items first (its file id): the daily indices of their days then hold
    UnitPrice as a number, as in the issue."""
    data, job = upload_and_wait(api_client, "retail_sample.csv", retail_csv())
    assert job["counts"]["indexed"] == 43
    return data["file_id"]


@pytest.mark.parametrize("date_separator", [".", "/"])
def test_a_semicolon_export_with_decimal_commas_indexes_every_row_as_numbers_on_its_own_days(
    usual_export, api_client, date_separator
):
    data, job = upload_and_wait(api_client, "retail_sample_fr.csv", european_export(date_separator=date_separator))

    assert job["status"] == "completed", job["errors"]
    assert job["counts"] == {"total_lines": 43, "indexed": 43, "dead_lettered": 0, "fallback": 0, "skipped_blank": 0}
    assert job["field_types"]["UnitPrice"] == "decimal_comma"
    documents = documents_of(data["file_id"])
    first, dearest = documents[0], documents[-1]
    assert (first["UnitPrice"], first["Quantity"], first["amount"]) == (3.75, 24, 90.0)
    # 01.12.2010 and 01/12/2010 are the 1st of December, not the 12th of January.
    assert first["@timestamp"] == "2010-12-01T08:45:00.000Z"
    assert (dearest["InvoiceNo"], dearest["UnitPrice"], dearest["amount"]) == ("C548914", 1136.3, -1136.3)
    assert dearest["@timestamp"] == "2011-04-05T09:46:00.000Z"
    assert facts(data["file_id"]) == facts(usual_export)


def test_the_issues_semicolon_file_indexes_all_40_rows_not_2(usual_export, api_client):
    data, job = upload_and_wait(api_client, "issue_fr.csv", european_export(ISSUE_ROWS, date_separator=None))

    assert job["counts"] == {"total_lines": 40, "indexed": 40, "dead_lettered": 0, "fallback": 0, "skipped_blank": 0}
    assert facts(data["file_id"]) == facts(usual_export)[:40]


def test_a_semicolon_file_with_decimal_points_keeps_its_us_dates(celery_worker, api_client):
    content = retail_csv().replace(b",", b";")

    data, job = upload_and_wait(api_client, "retail_sample_semicolons.csv", content)

    assert job["counts"]["indexed"] == 43
    assert job["field_types"]["UnitPrice"] == "float"
    documents = documents_of(data["file_id"])
    assert (documents[0]["UnitPrice"], documents[0]["@timestamp"]) == (3.75, "2010-12-01T08:45:00.000Z")
    assert documents[40]["@timestamp"] == "2010-12-15T16:21:00.000Z"
