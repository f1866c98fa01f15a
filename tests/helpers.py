"""Test helpers: upload through the real API and follow the job the real worker runs."""

import csv
import datetime as dt
import functools
import gzip
import io
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_celery_results.models import TaskResult
from elasticsearch import ApiError

from config.celery import app as celery_app
from config.es import get_es
from ingestion.enums import FINISHED
from ingestion.formats import FileFormat
from ingestion.job import Job, zero_counts
from tests.conftest import wait_until
from tests.datafiles import DATA_DIR as DATA
from tests.datafiles import ECOMMERCE_ORDERS, FRAUD_TRANSACTIONS, ONLINE_RETAIL_FRANCE

SCRIPT_NOTE = "Gift wrap please <script>alert(1)</script>"
CREATED = dt.datetime(2016, 12, 1, 0, 4, 19, tzinfo=dt.UTC)


def a_job(**changes) -> Job:
    """A job record as an upload of the labelled fraud file makes it, for tests of the repository."""
    job_id = uuid.uuid4().hex
    values = {
        "job_id": job_id,
        "file_id": uuid.uuid4().hex,
        "owner_id": 7,
        "owner_name": "ana",
        "filename": "fraud_transactions_2k.csv",
        "file_type": "csv",
        "file_size": 616_517,
        "sha256": "72978a0384eb3aa79c4f826a6c1bcea9a48e71b99f51ff703d0249eae2c99420",
        "stored_name": f"{job_id}.csv",
        "source_name": f"{job_id}.csv",
        "format": FileFormat("csv", "utf-8", delimiter=",", header=("EVENT_TIMESTAMP", "order_price")),
        "total_lines": 1611,
        "preview": [{"EVENT_TIMESTAMP": "2022-12-24T15:53:30Z", "order_price": "7.53"}],
        "timestamp_field": "EVENT_TIMESTAMP",
        "log_type": "",
        "created_at": CREATED,
        "counts": zero_counts(1611),
    }
    return Job(**{**values, **changes})


def data_lines(name: str, count: int) -> bytes:
    """The first `count` lines of a real data set, as bytes."""
    with open(DATA / name, "rb") as source:
        return b"".join(source.readline() for _ in range(count))


def transactions_on(moments: list[str]) -> bytes:
    """Real card transactions (the shared fraud file's rows, in turn), one per given event time, as a CSV file."""
    with FRAUD_TRANSACTIONS.open(newline="") as source:
        reader = csv.DictReader(source)
        rows = list(reader)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    for number, moment in enumerate(moments):
        writer.writerow(rows[number % len(rows)] | {"EVENT_TIMESTAMP": moment, "LABEL_TIMESTAMP": moment})
    return out.getvalue().encode()


@contextmanager
def one_transaction_a_day(client, *, first_day: dt.date, days: int, per_upload: int = 90) -> Iterator[list[dict]]:
    """Real card transactions, one at noon on each of `days` days, uploaded through the API and indexed by the
    worker; yields the uploads' data, then deletes them with their documents and the daily indices they leave empty.

    Each upload covers `per_upload` days: one bulk request that creates hundreds of daily indices can outlast the
    client's timeout on a busy machine (the worker would then retry it), a few dozen at a time cannot.
    """
    uploads = []
    try:
        for start in range(0, days, per_upload):
            offsets = range(start, min(days, start + per_upload))
            moments = [f"{first_day + dt.timedelta(days=offset)}T12:00:00Z" for offset in offsets]
            data, job = upload_and_wait(client, f"transactions-from-day-{start}.csv", transactions_on(moments))
            uploads.append(data)
            assert job["counts"]["indexed"] == len(moments), job
        yield uploads
    finally:
        for data in uploads:
            assert client.delete(f"/api/logs/uploads/{data['file_id']}").status_code == 200


# The issue's file: the retail file's first 40 line items (38 prices with decimals, 2 whole).
ISSUE_ROWS = tuple(range(40))
# Those, a line item of 15 December (a day above 12 says which number is the day) and two of the dearest (1,136.30:
# a thousands separator in a European export).
SAMPLE_ROWS = (*ISSUE_ROWS, 287, 2131, 2132)


def retail_rows(numbers: tuple[int, ...] = SAMPLE_ROWS) -> list[dict]:
    with ONLINE_RETAIL_FRANCE.open(newline="") as source:
        rows = list(csv.DictReader(source))
    return [rows[number] for number in numbers]


def retail_csv(numbers: tuple[int, ...] = SAMPLE_ROWS) -> bytes:
    """Those rows as the shared file writes them (',' between fields, 3.75, 12/1/2010 8:45)."""
    rows = retail_rows(numbers)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _decimal_comma(price: str) -> str:
    number = float(price)
    if number.is_integer():
        return str(int(number))  # a whole price is written without decimals, as a spreadsheet does
    return f"{number:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def european_export(numbers: tuple[int, ...] = SAMPLE_ROWS, date_separator: str | None = ".") -> bytes:
    """The same rows as a French spreadsheet exports them: ';' between fields, 3,75 and 1.136,30, and the day first
    in dates (01.12.2010 08:45, or 01/12/2010 08:45 with `date_separator` "/"; None keeps the file's own dates)."""
    out = io.StringIO()
    rows = retail_rows(numbers)
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        moment = dt.datetime.strptime(row["InvoiceDate"], "%m/%d/%Y %H:%M")
        date = (
            moment.strftime(f"%d{date_separator}%m{date_separator}%Y %H:%M") if date_separator else row["InvoiceDate"]
        )
        writer.writerow(row | {"UnitPrice": _decimal_comma(row["UnitPrice"]), "InvoiceDate": date})
    return out.getvalue().encode("cp1252")


def job_set_aside_under_old_rules(client) -> dict:
    """The issue's semicolon file (decimal commas), indexed as the pipeline did before decimal commas were read:
    its preview stage then typed UnitPrice as text, so 38 of its 40 rows clashed with the number UnitPrice holds on
    their days (upload the usual export first) and were set aside. Every other step is today's pipeline, run here
    while the worker waits; the worker then finds the job finished and leaves it. Returns the finished job."""
    from ingestion import repository
    from ingestion.services import stages

    run = "before-decimal-commas"
    with worker_paused():
        response = upload(client, "issue_fr.csv", european_export(ISSUE_ROWS, date_separator=None))
        job_id = response.json()["data"]["job_id"]
        assert stages.job_validate(job_id=job_id, attempt=1, run=run)
        assert stages.job_preview(job_id=job_id, attempt=1)
        types = repository.job_get(job_id).field_types
        old_rules = {"field_types": {**types, "UnitPrice": "string"}, "numeric_columns": {"Quantity": "integer"}}
        repository.job_update(job_id, old_rules)
        for number in stages.job_split(job_id=job_id, attempt=1, run=run):
            stages.chunk_parse(job_id=job_id, attempt=1, number=number)
            stages.chunk_enrich(job_id=job_id, attempt=1, number=number)
            stages.chunk_index(job_id=job_id, attempt=1, number=number, run=run)
    return wait_for_job(client, job_id)


def orders_with_a_script_note(count: int = 5) -> bytes:
    """Real orders whose customer note holds a script tag, as a hostile shopper could type it at checkout."""
    rows = [orjson.loads(line) for line in data_lines(ECOMMERCE_ORDERS.name, count).splitlines()]
    return b"".join(orjson.dumps({**row, "customer_note": SCRIPT_NOTE}) + b"\n" for row in rows)


def upload(client, name: str, content: bytes, **extra):
    return client.post("/api/logs/upload", {"file": SimpleUploadedFile(name, content), **extra}, format="multipart")


def gzipped(content: bytes) -> bytes:
    return gzip.compress(content)


def wait_for_job(client, job_id: str, attempts: int = 1200) -> dict:
    """Poll the job API until the job has finished (bounded), then check its counts add up."""
    for _ in range(attempts):
        job = client.get(f"/api/logs/jobs/{job_id}").json()
        if job["status"] in FINISHED:
            counts = job["counts"]
            if job["status"] != "failed":
                accounted = counts["indexed"] + counts["dead_lettered"] + counts["fallback"] + counts["skipped_blank"]
                assert accounted == counts["total_lines"], counts
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def upload_and_wait(client, name: str, content: bytes, **extra) -> tuple[dict, dict]:
    response = upload(client, name, content, **extra)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    return data, wait_for_job(client, data["job_id"])


def upload_and_screen(client, name: str, content: bytes) -> dict:
    """Upload a file and wait for the fraud screening its finished job triggers (the real path)."""
    data, _job = upload_and_wait(client, name, content)
    wait_until(
        lambda: TaskResult.objects.filter(
            task_name="analytics.fraud_scan_finished_job", task_args__contains=data["job_id"], status="SUCCESS"
        ).exists()
    )
    return data


def documents_of(file_id: str, size: int = 100) -> list[dict]:
    result = get_es().search(
        index=settings.LOGS_INDEX_PREFIX, query={"term": {"file_id": file_id}}, size=size, sort=[{"line": "asc"}]
    )
    return [hit["_source"] | {"_index": hit["_index"], "_id": hit["_id"]} for hit in result["hits"]["hits"]]


def count_documents(file_id: str) -> int:
    # The alias exists only once some daily index does (the fault tests start without any).
    es = get_es()
    count = functools.partial(
        es.count, index=settings.LOGS_INDEX_PREFIX, query={"term": {"file_id": file_id}}, ignore_unavailable=True
    )
    for _ in range(5):
        try:
            return count()["count"]
        except ApiError as error:
            if error.status_code != 503:
                raise
            # A daily index just created (or a node just restarted by a fault test) has shards still starting.
            es.options(ignore_status=408).cluster.health(wait_for_status="yellow", timeout="30s")
            time.sleep(1)
    return count()["count"]


def fallback_documents(file_id: str) -> list[dict]:
    result = get_es().search(
        index=f"{settings.LOGS_INDEX_PREFIX}-fallback", query={"term": {"file_id": file_id}}, size=100
    )
    return [hit["_source"] for hit in result["hits"]["hits"]]


def delete_prefix(prefix: str) -> None:
    """Remove a test prefix's daily and fallback indices and its template (by exact names: no wildcard deletes)."""
    es = get_es()
    owned = re.compile(rf"{re.escape(prefix)}-(\d{{4}}\.\d{{2}}\.\d{{2}}|fallback)")
    indices = [index for index in es.indices.get(index=f"{prefix}-*") if owned.fullmatch(index)]
    if indices:
        es.indices.delete(index=indices)
    es.options(ignore_status=404).indices.delete_index_template(name=prefix)


def worker_is_idle() -> bool:
    """No task waits in the broker, and the worker runs or holds none (for wait_until after queuing work)."""
    with celery_app.connection_for_read() as connection:
        if connection.default_channel.queue_declare(queue="celery").message_count:
            return False
    inspector = celery_app.control.inspect(timeout=1)
    held = [*(inspector.active() or {}).values(), *(inspector.reserved() or {}).values()]
    return not any(held)


@contextmanager
def worker_paused():
    """The real (single) worker stops taking tasks (they wait in the broker) until the block ends."""
    # limit=1: return on the worker's reply instead of waiting out the timeout for others.
    assert celery_app.control.cancel_consumer("celery", reply=True, timeout=10, limit=1)
    try:
        yield
    finally:
        assert celery_app.control.add_consumer("celery", reply=True, timeout=10, limit=1)
