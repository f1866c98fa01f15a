"""What the fraud rules count as one event (pure logic, no servers): the retail file's invoice lines become
orders, cancellations are marked, and a file uploaded twice counts once."""

import datetime as dt
from dataclasses import replace

from analytics.fraud.orders import as_orders
from analytics.fraud.rules import Event
from tests.datafiles import FRAUD_TRANSACTIONS, ONLINE_RETAIL_FRANCE, csv_records


def retail_lines(count: int, *, job_id: str = "job-a", file_id: str = "file-a") -> list[Event]:
    """The retail file's first rows as the scan reads them: one event per invoice line."""
    _format, records = csv_records(ONLINE_RETAIL_FRANCE, count)
    return [
        Event(
            id=f"{file_id}:{line}",
            time=dt.datetime.strptime(record["InvoiceDate"], "%m/%d/%Y %H:%M").replace(tzinfo=dt.UTC),
            amount=round(float(record["Quantity"]) * float(record["UnitPrice"]), 6),
            customer=record["CustomerID"],
            order_id=record["InvoiceNo"],
            cancelled=float(record["Quantity"]) < 0,
            job_id=job_id,
        )
        for line, record in enumerate(records, start=1)
    ]


def test_the_twenty_lines_of_the_first_invoice_become_one_order_worth_their_sum():
    orders = as_orders(retail_lines(20))

    assert len(orders) == 1
    order = orders[0]
    assert (order.order_id, order.customer, order.lines) == ("536370", "12583", 20)
    assert round(order.amount, 2) == 855.86
    assert order.time == dt.datetime(2010, 12, 1, 8, 45, tzinfo=dt.UTC)
    assert order.id == "file-a:1"
    assert order.documents == tuple(f"file-a:{line}" for line in range(1, 21))
    assert not order.cancelled


def test_a_cancelled_invoice_is_one_cancelled_order_with_a_negative_amount():
    orders = {order.order_id: order for order in as_orders(retail_lines(181))}

    cancelled = orders["C537893"]  # lines 179 to 181 of the file
    assert cancelled.cancelled and cancelled.lines == 3
    assert round(cancelled.amount, 2) == -27.15
    assert [order.order_id for order in orders.values() if order.cancelled] == ["C537893"]


def test_an_invoice_uploaded_twice_counts_once_and_names_both_uploads():
    first = retail_lines(20)
    again = retail_lines(20, job_id="job-b", file_id="file-b")

    orders = as_orders(again + first)

    assert len(orders) == 1
    assert round(orders[0].amount, 2) == 855.86  # not twice the sum
    assert orders[0].jobs == ("job-a", "job-b")
    assert len(orders[0].documents) == 40 and "file-b:20" in orders[0].documents


def test_a_transaction_uploaded_again_is_one_event_but_identical_rows_of_one_file_stay_apart():
    _format, records = csv_records(FRAUD_TRANSACTIONS, 1)
    row = records[0]
    payment = Event(
        id="file-a:1",
        time=dt.datetime.fromisoformat(row["EVENT_TIMESTAMP"].replace("Z", "+00:00")),
        amount=float(row["order_price"]),
        currency=row["payment_currency"],
        customer=row["ENTITY_ID"],
        ip=row["ip_address"],
        job_id="job-a",
    )
    twin_in_the_same_file = replace(payment, id="file-a:2")
    copy_in_another_upload = replace(payment, id="file-b:1", job_id="job-b")

    events = as_orders([payment, twin_in_the_same_file, copy_in_another_upload])

    assert [event.documents for event in events] == [("file-a:1", "file-b:1"), ("file-a:2",)]
    assert events[0].jobs == ("job-a", "job-b")
