"""Alerts in Elasticsearch (django-elasticsearch-dsl), so Kibana shows them beside the events."""

from collections.abc import Iterable

from django.conf import settings
from django_elasticsearch_dsl import Document, fields
from django_elasticsearch_dsl.registries import registry

from analytics.fraud.models import FraudAlert


@registry.register_document
class FraudAlertDocument(Document):
    owner = fields.KeywordField(attr="owner_id")
    rules = fields.KeywordField(multi=True)
    evidence_ids = fields.KeywordField(multi=True)

    class Index:
        name = settings.FRAUD_ALERTS_INDEX
        settings = {"number_of_shards": 1, "number_of_replicas": settings.LOGS_INDEX_REPLICAS}

    class Django:
        model = FraudAlert
        fields = ["key", "entity_type", "entity", "score", "tier", "status", "first_seen", "last_seen", "event_count"]

    @classmethod
    def generate_id(cls, alert: FraudAlert) -> str:
        # The alert's own key: re-indexing an alert replaces its document, whatever its row id.
        return alert.key

    def prepare_rules(self, alert: FraudAlert) -> list[str]:
        return list(alert.rules)

    def prepare_evidence_ids(self, alert: FraudAlert) -> list[str]:
        return [item["id"] for item in alert.evidence]


def index_alerts(alerts: Iterable[FraudAlert]) -> None:
    """Write alerts to the `fraud-alerts` index (made on first use), visible at once."""
    alerts = list(alerts)
    if not alerts:
        return
    index = FraudAlertDocument._index
    if not index.exists():
        index.create()
    FraudAlertDocument().update(alerts, refresh=True)
