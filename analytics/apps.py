from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        # Registers the fraud-alerts document with django-elasticsearch-dsl.
        from analytics.fraud import documents  # noqa: F401
