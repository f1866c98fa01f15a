"""Values every page's layout needs: outside links and the upload limits."""

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "FLOWER_URL": settings.FLOWER_URL,
        "KIBANA_URL": settings.KIBANA_URL,
        "MAX_UPLOAD_MB": settings.LOGS_MAX_UPLOAD_MB,
    }
