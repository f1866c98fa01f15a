"""Values every page's layout needs: outside links and the upload limits."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from config.kibana import kibana_url


def site(request: HttpRequest) -> dict:
    return {
        "FLOWER_URL": settings.FLOWER_URL,
        "KIBANA_URL": kibana_url(getattr(request, "user", AnonymousUser())),
        "MAX_UPLOAD_MB": settings.LOGS_MAX_UPLOAD_MB,
    }
