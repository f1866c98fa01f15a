"""Links into Kibana Discover, when KIBANA_URL is set (compose runs Kibana; this machine cannot)."""

from urllib.parse import quote

from django.conf import settings


def _rison_string(text: str) -> str:
    # Rison quotes strings with ' and escapes ' and ! with !.
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def discover_url(lucene_query: str, *, time_from: str = "now-30y", time_to: str = "now") -> str | None:
    """Discover on the logs data view with this Lucene query and time range; None without a Kibana."""
    if not settings.KIBANA_URL:
        return None
    global_state = f"(time:(from:{_rison_string(time_from)},to:{_rison_string(time_to)}))"
    app_state = f"(query:(language:lucene,query:{_rison_string(lucene_query or '*')}))"
    safe = "():,!*"
    return f"{settings.KIBANA_URL}/app/discover#/?_g={quote(global_state, safe=safe)}&_a={quote(app_state, safe=safe)}"
