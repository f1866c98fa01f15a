"""Sign-in lockout (django-axes): failures counted per username and address in Redis, a page that says why.

Every web process shares the counters through the cache. When Redis is away the lockout fails open (as the
API throttles do): sign-in keeps working unguarded, with a warning in the log, instead of answering 500.
"""

import logging
import math

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cache, get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.cache import CACHE_UNAVAILABLE

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The caller's address: the peer's, or behind TRUSTED_PROXY_COUNT proxies the one the outermost proxy saw."""
    hops = settings.TRUSTED_PROXY_COUNT
    # Each proxy appends the address it was called from, so only the last `hops` entries are trustworthy.
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")


def lockout_message(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-in attempts for this account from your address. Try again in {minutes} {unit}."


def lockout_response(request: HttpRequest, original_response: HttpResponse, credentials: dict) -> HttpResponse:
    """The sign-in page (site or admin) of a locked-out caller: the site's layout and a sentence saying why."""
    minutes = max(1, math.ceil(get_cool_off(request).total_seconds() / 60))
    context = {"message": lockout_message(minutes)}
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


class FailOpenCacheHandler(AxesCacheHandler):
    """Axes' cache handler, letting sign-in through (and saying so in the log) while Redis is unreachable."""

    def __init__(self) -> None:
        # One handler serves every thread, while Django keeps a cache connection per thread: take the
        # calling thread's at each use instead of the first caller's for good.
        pass

    @property
    def cache(self):
        return get_cache()

    def get_failures(self, request, credentials: dict | None = None) -> int:
        try:
            return super().get_failures(request, credentials)
        except CACHE_UNAVAILABLE as error:
            logger.warning("sign-in lockout counters unavailable (%s); not checking this attempt", error)
            return 0

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        try:
            super().user_login_failed(sender, credentials, request, **kwargs)
        except CACHE_UNAVAILABLE as error:
            logger.warning("sign-in lockout counters unavailable (%s); this failure is not counted", error)

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        try:
            super().user_logged_in(sender, request, user, **kwargs)
        except CACHE_UNAVAILABLE as error:
            logger.warning("sign-in lockout counters unavailable (%s); earlier failures not cleared", error)
