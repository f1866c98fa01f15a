"""Queueing a delivery's send by task name, so services need not import the task module."""

import logging

from celery import signature
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def delivery_queue(delivery_id: int, *, countdown: float | None = None) -> None:
    """Ask a worker to send a delivery (now, or after `countdown` seconds).

    With the broker down nothing is lost: the delivery stays pending and due, and the beat sweep sends it.
    """
    try:
        signature("notifications.deliver", args=(delivery_id,)).apply_async(countdown=countdown, retry=False)
    except OperationalError:
        logger.warning("broker unavailable; delivery %s waits for the sweep", delivery_id)
