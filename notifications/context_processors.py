"""The navigation's notice of the signed-in user's channels the platform disabled (one count query per page)."""

from django.http import HttpRequest

from notifications.models import Channel


def channel_notices(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"DISABLED_CHANNELS": Channel.objects.filter(owner=user, enabled=False).exclude(disabled_reason="").count()}
