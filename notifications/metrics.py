"""Notification metrics, read at scrape time from the deliveries table: deliveries by channel kind and outcome."""

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from notifications.models import Channel, Delivery, DeliveryAttempt


class DeliveryCollector:
    """Deliveries by channel kind and state (pending, delivered, failed) and attempts by outcome."""

    def collect(self) -> Iterator[Metric]:
        deliveries = GaugeMetricFamily(
            "logs_notification_deliveries",
            "Notification deliveries by channel kind and state (pending, delivered, failed)",
            labels=["kind", "state"],
        )
        found = {
            (row["channel__kind"], row["state"]): row["count"]
            for row in Delivery.objects.values("channel__kind", "state").annotate(count=Count("id")).order_by()
        }
        for kind in Channel.Kind.values:
            for state in Delivery.State.values:
                deliveries.add_metric([kind, state], found.get((kind, state), 0))
        yield deliveries
        yield _attempts()


def _attempts() -> Metric:
    """Each try at sending: one without an error sentence succeeded (a 2xx answer, or an email the server took)."""
    attempts = CounterMetricFamily(
        "logs_notification_attempts",
        "Attempts at sending a notification, by channel kind and outcome",
        labels=["kind", "outcome"],
    )
    for kind in Channel.Kind.values:
        of_kind = DeliveryAttempt.objects.filter(delivery__channel__kind=kind)
        succeeded = of_kind.filter(error="").count()
        attempts.add_metric([kind, "success"], succeeded)
        attempts.add_metric([kind, "failure"], of_kind.count() - succeeded)
    return attempts
