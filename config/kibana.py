"""Links into Kibana, for staff only and when KIBANA_URL is set (compose runs Kibana; this machine cannot).

Kibana reads Elasticsearch with its own login and knows nothing of the per-user scoping of our pages, so a
link to it is for staff (who see everyone's events anyway), never for other users.
"""

from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def _rison_string(text: str) -> str:
    # Rison quotes strings with ' and escapes ' and ! with !.
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def kibana_url(user: AbstractBaseUser | AnonymousUser) -> str:
    """Kibana's address for this user: empty unless they are staff and Kibana is set."""
    return settings.KIBANA_URL if user.is_staff else ""


def discover_url(
    lucene_query: str, *, user: AbstractBaseUser | AnonymousUser, time_from: str = "now-30y", time_to: str = "now"
) -> str | None:
    """Discover on the logs data view with this Lucene query and time range; None for non-staff or without Kibana."""
    if not kibana_url(user):
        return None
    global_state = f"(time:(from:{_rison_string(time_from)},to:{_rison_string(time_to)}))"
    app_state = f"(query:(language:lucene,query:{_rison_string(lucene_query or '*')}))"
    safe = "():,!*"
    return f"{settings.KIBANA_URL}/app/discover#/?_g={quote(global_state, safe=safe)}&_a={quote(app_state, safe=safe)}"
