"""Event days through the real pipeline: the per-upload day limit, and timestamps outside the accepted years."""

import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from ingestion import repository as ingestion_repo
from ingestion.services.stages import job_days_accept
from tests.helpers import count_documents, documents_of, transactions_on, upload_and_wait, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

DAYS = [f"2033-05-{day:02d}" for day in range(1, 9)]


def set_aside(day: str, limit: int = 5) -> str:
    return (
        f"This upload already has events on {limit} different days, the most one upload may create "
        f"(LOGS_MAX_DAYS_PER_JOB); its events on {day} were not indexed. Split the file by date range or ask an "
        "admin to raise the limit."
    )


def test_rows_on_days_beyond_the_limit_are_dead_lettered_with_the_reason_and_a_retry_agrees(
    celery_worker, api_client, settings
):
    # The limit is recorded on the job when it is uploaded, so the worker applies the test's lowered one.
    settings.LOGS_MAX_DAYS_PER_JOB = 5
    # 24 transactions over 8 days, the days in turn: the file reaches days 6 to 8 after the limit of 5.
    moments = [f"{DAYS[number % 8]}T{10 + number // 8}:15:00Z" for number in range(24)]
    content = transactions_on(moments)
    refused_lines = [number + 2 for number in range(24) if number % 8 >= 5]  # after the header line

    data, job = upload_and_wait(api_client, "transactions_may_2033.csv", content)

    assert job["status"] == "completed_with_errors"
    assert job["counts"] == {"total_lines": 24, "indexed": 15, "dead_lettered": 9, "fallback": 0, "skipped_blank": 0}
    assert [index[-10:] for index in job["indices"]] == [day.replace("-", ".") for day in DAYS[:5]]
    letters = ingestion_repo.dead_letters_page(data["job_id"], skip=0, limit=50)
    assert [letter["line"] for letter in letters] == refused_lines
    assert [letter["reason"] for letter in letters] == [set_aside(DAYS[(line - 2) % 8]) for line in refused_lines]
    lines = content.decode().splitlines()
    assert [letter["raw"] for letter in letters] == [lines[line - 1] for line in refused_lines]
    assert {document["@timestamp"][:10] for document in documents_of(data["file_id"])} == set(DAYS[:5])

    api_client.post(f"/api/logs/jobs/{data['job_id']}/retry")
    again = wait_for_job(api_client, data["job_id"])

    assert again["attempt"] == 2
    assert again["counts"] == job["counts"]
    assert again["indices"] == job["indices"]
    assert [row["line"] for row in ingestion_repo.dead_letters_page(data["job_id"], skip=0, limit=50)] == refused_lines
    assert count_documents(data["file_id"]) == 15


def test_a_file_within_the_limit_keeps_every_row(celery_worker, api_client, settings):
    settings.LOGS_MAX_DAYS_PER_JOB = 8

    _data, job = upload_and_wait(
        api_client, "transactions_may_2033.csv", transactions_on([f"{day}T09:00:00Z" for day in DAYS])
    )

    assert job["status"] == "completed"
    assert job["counts"]["indexed"] == 8
    assert len(job["indices"]) == 8


def test_a_timestamp_outside_the_accepted_years_is_dead_lettered_as_out_of_range(celery_worker, api_client):
    content = (
        b'{"timestamp": "2024-05-01T10:00:00Z", "order_id": "A-1", "amount": 19.9}\n'
        b'{"timestamp": "1969-07-20T20:17:40Z", "order_id": "A-2", "amount": 5.0}\n'
        b'{"timestamp": "2150-01-01T00:00:00Z", "order_id": "A-3", "amount": 7.5}\n'
        b'{"timestamp": "the day after", "order_id": "A-4", "amount": 1.0}\n'
    )

    data, job = upload_and_wait(api_client, "orders.ndjson", content)

    assert job["counts"]["indexed"] == 1
    reasons = [letter["reason"] for letter in ingestion_repo.dead_letters_page(data["job_id"], skip=0, limit=10)]
    assert reasons == [
        "Timestamp '1969-07-20T20:17:40Z' in field 'timestamp' is out of range (accepted: 1970-01-01 to 2100-12-31)",
        "Timestamp '2150-01-01T00:00:00Z' in field 'timestamp' is out of range (accepted: 1970-01-01 to 2100-12-31)",
        "Unparseable timestamp 'the day after' in field 'timestamp'",
    ]


def test_concurrent_chunks_never_give_a_job_more_days_than_its_limit():
    job_id = f"days-{uuid.uuid4().hex}"
    days = [f"2034-01-{day:02d}" for day in range(1, 31)]
    # Six chunks at once, each reaching the 30 days in its own order.
    orders = [random.Random(seed).sample(days, len(days)) for seed in range(6)]
    try:
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(lambda order: job_days_accept(job_id=job_id, attempt=1, days=order, limit=10), orders)
            )
        slots = ingestion_repo.claim_holders(job_id, "dayslot-1")
        again = job_days_accept(job_id=job_id, attempt=1, days=orders[0], limit=10)
    finally:
        ingestion_repo.release_claims(job_id)

    accepted = set(slots.values())
    assert len(slots) == len(accepted) == 10  # no day holds two slots
    assert all(answer == accepted for answer in answers)
    assert again == accepted
