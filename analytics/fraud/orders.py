"""What the fraud rules count as one event: an order's line items become one order, and an event uploaded
again (the same file twice, overlapping exports) stays one event that lists its copies."""

from collections import defaultdict
from dataclasses import replace
from itertools import zip_longest

from analytics.fraud.rules import Event

# Two events alike in every field the rules read, from two uploads, are one event uploaded again. Within
# one upload identical rows stay apart: a shop may well record the same line twice.
SAME_EVENT = (
    "time",
    "amount",
    "currency",
    "customer",
    "card",
    "ip",
    "device",
    "billing_country",
    "category",
    "declined",
    "cancelled",
)
# An order takes these from the first of its lines that has them.
ORDER_DETAILS = ("customer", "card", "ip", "located", "country", "billing_country", "category", "device", "currency")


def as_orders(events: list[Event]) -> list[Event]:
    """One event per order (lines sharing an order id and customer) and per event uploaded more than once,
    in time order."""
    groups: dict[tuple, list[Event]] = defaultdict(list)
    for event in events:
        if event.order_id:
            key = ("order", event.customer, event.order_id)
        else:
            key = ("event", *(getattr(event, name) for name in SAME_EVENT))
        groups[key].append(event)
    merged = []
    for key, members in groups.items():
        merged.extend([_order(members)] if key[0] == "order" else _copies(members))
    return sorted(merged, key=_in_order)


def _in_order(event: Event) -> tuple:
    """Time, then file and line: document ids are `file_id:line`, and line 10 comes after line 9."""
    file_id, _colon, line = event.id.rpartition(":")
    return event.time, file_id, int(line) if line.isdigit() else 0


def _by_upload(events: list[Event]) -> list[list[Event]]:
    """The events grouped by job, each group in order, the groups in job id order (a stable choice)."""
    uploads: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        uploads[event.job_id or ""].append(event)
    return [sorted(uploads[job], key=_in_order) for job in sorted(uploads)]


def _copies(events: list[Event]) -> list[Event]:
    uploads = _by_upload(events)
    if len(uploads) == 1:
        return uploads[0]
    # The n-th copy in each upload is the same event: the first upload's copy stands for all of them.
    merged = []
    for copies in zip_longest(*uploads):
        present = [copy for copy in copies if copy is not None]
        merged.append(
            replace(
                present[0],
                ids=tuple(copy.id for copy in present),
                job_ids=tuple(sorted({job for copy in present for job in copy.jobs})),
            )
        )
    return merged


def _order(lines: list[Event]) -> Event:
    # An order uploaded twice is counted once, from one upload's lines; the other copies' ids are kept.
    uploads = _by_upload(lines)
    counted = uploads[0]
    amounts = [line.amount for line in counted if line.amount is not None]
    details = {
        name: next((value for line in counted if (value := getattr(line, name)) is not None), None)
        for name in ORDER_DETAILS
    }
    return replace(
        counted[0],
        **details,
        # Rounded like ingestion's line amounts, so float noise does not show in sums to the cent.
        amount=round(sum(amounts), 6) if amounts else None,
        declined=any(line.declined for line in counted),
        cancelled=any(line.cancelled for line in counted),
        ids=tuple(line.id for upload in uploads for line in upload),
        job_ids=tuple(sorted({job for line in lines for job in line.jobs})),
        lines=len(counted),
    )
