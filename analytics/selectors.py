"""Analytics panels for a user and filters: checked, kept in the shared cache until the events change, run side by side.

A panel's answer depends only on the events it reads, so it is cached under a key made of the panel, its
options, whose events it may read, the filters and the events' data version (which ingestion changes when a
job ends or an upload is deleted). A filter relative to now (`now-7d`) also keys on the minute.
"""

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar
from zoneinfo import available_timezones

import orjson
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache

from analytics import panels
from analytics.filters import EventFilters, check_field_name, scoped_search
from config.cache import CACHE_UNAVAILABLE
from config.errors import ApplicationError
from ingestion.contract import data_version

logger = logging.getLogger(__name__)
# Threads shared by the requests of a web process: the panels of one page wait on Elasticsearch side by side.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="panels")


# The staff pages (analytics, dashboard) span every owner's events and jobs: making them ready after each finished
# job costs a worker seconds of aggregations and a read of every job each time, only worth it while staff look.
STAFF_LOOKING_KEY = "analytics:staff-looking"
STAFF_LOOKING_SECONDS = 24 * 3600


def staff_looking_note() -> None:
    """Remember that staff opened the analytics page or the dashboard (the warm-up then keeps both ready for a
    day)."""
    try:
        cache.set(STAFF_LOOKING_KEY, True, timeout=STAFF_LOOKING_SECONDS)
    except CACHE_UNAVAILABLE as error:
        logger.warning("analytics cache unavailable (%s); the staff page is not kept ready", error)


def staff_is_looking() -> bool:
    """Whether staff opened the analytics page or the dashboard in the last day."""
    try:
        return bool(cache.get(STAFF_LOOKING_KEY))
    except CACHE_UNAVAILABLE:
        return False


def _scope(user: AbstractBaseUser, filters: EventFilters) -> str:
    """Whose events the answer holds: the user's own, or (staff) everyone's or one owner's."""
    if not user.is_staff:
        return f"owner:{user.pk}"
    return f"staff:{filters.owner or '*'}"


def scope_key(kind: str, user: AbstractBaseUser, filters: EventFilters, *parts: object) -> str:
    """A cache key for an answer about the events this user may see: it changes when the events do."""
    payload = [data_version(), kind, _scope(user, filters), sorted(filters.as_params()), *parts]
    return f"analytics:{kind}:" + hashlib.sha256(orjson.dumps(payload, default=str)).hexdigest()


def _cache_key(name: str, options: dict, user: AbstractBaseUser, filters: EventFilters) -> str:
    relative = any(value and "now" in value for value in (filters.start, filters.end))
    minute = int(time.time() // 60) if relative else None
    return scope_key(f"panel:{name}", user, filters, sorted(options.items()), minute)


Answer = TypeVar("Answer")


def cached(key: str, compute: Callable[[], Answer]) -> Answer:
    """The cached answer, or a fresh one (stored for next time); with the cache away, always a fresh one."""
    try:
        hit = cache.get(key)
    except CACHE_UNAVAILABLE as error:
        logger.warning("analytics cache unavailable (%s); computing afresh", error)
        return compute()
    if hit is not None:
        return hit
    answer = compute()
    try:
        cache.set(key, answer, settings.ANALYTICS_CACHE_SECONDS)
    except CACHE_UNAVAILABLE as error:
        logger.warning("analytics cache unavailable (%s); the answer is not kept", error)
    return answer


def _runner(user: AbstractBaseUser, filters: EventFilters, name: str, options: dict) -> Callable[[], dict]:
    """The panel's computation, its options checked first (a bad one is an ApplicationError, 400)."""
    if name not in panels.PANELS:
        raise ApplicationError(f"No panel '{name}'; panels: {', '.join(panels.PANELS)}", 404)
    base = scoped_search(user, filters)
    if name == "top":
        if not options.get("field"):
            raise ApplicationError("field: which field's top values? e.g. field=geo.country_iso_code")
        field, size = check_field_name(options["field"]), options.get("size", 10)
        return lambda: panels.top(base, field, size)
    if name in ("timeline", "status"):
        return lambda: panels.PANELS[name](base, options.get("interval"))
    if name == "geo":
        return lambda: panels.geo(base, options.get("precision", 3))
    if name == "heatmap":
        zone = options.get("tz", "UTC")
        if zone not in available_timezones():
            raise ApplicationError(f"tz: '{zone[:40]}' is not a time zone (e.g. Europe/Paris)")
        return lambda: panels.heatmap(base, zone)
    return lambda: panels.PANELS[name](base)


# The options each panel reads (with their defaults): the others must not split its cache.
PANEL_OPTIONS = {
    "top": {"field": None, "size": 10},
    "timeline": {"interval": None},
    "status": {"interval": None},
    "geo": {"precision": 3},
    "heatmap": {"tz": "UTC"},
}


def panel_get(*, user: AbstractBaseUser, filters: EventFilters, name: str, options: dict) -> dict:
    """One panel for the user's events matching the filters."""
    defaults = PANEL_OPTIONS.get(name, {})
    options = {key: options.get(key) if options.get(key) is not None else value for key, value in defaults.items()}
    compute = _runner(user, filters, name, options)
    return cached(_cache_key(name, options, user, filters), compute)


def side_by_side(calls: dict[str, Callable[[], object]]) -> dict[str, object]:
    """Each call's result by name, the calls run at the same time (they wait on servers, not on this CPU).

    Only for calls that use Elasticsearch, MongoDB or the cache: the Django database is per thread.
    """
    futures = {name: _POOL.submit(call) for name, call in calls.items()}
    return {name: future.result() for name, future in futures.items()}


def page_panels(top_field: str = "geo.country_iso_code") -> dict[str, tuple[str, dict]]:
    """The panels of the analytics page, each with its options."""
    return {
        "summary": ("summary", {}),
        "timeline": ("timeline", {}),
        "categories": ("categories", {}),
        "top": ("top", {"field": top_field, "size": 15}),
        "geo": ("geo", {"precision": 4}),
        "status": ("status", {}),
        "heatmap": ("heatmap", {}),
    }


def panels_get(*, user: AbstractBaseUser, filters: EventFilters, wanted: dict[str, tuple[str, dict]]) -> dict:
    """Several panels at once ({label: (panel, options)}), run side by side; the first error is raised."""
    return side_by_side(
        {
            label: partial(panel_get, user=user, filters=filters, name=name, options=options)
            for label, (name, options) in wanted.items()
        }
    )
