"""API throttles whose counters live in Redis, failing open: Redis down must not turn every call into a 500."""

import logging

from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

from config.cache import CACHE_UNAVAILABLE

logger = logging.getLogger(__name__)


class _FailOpen:
    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_UNAVAILABLE as error:
            # Serving unthrottled for a while beats refusing every request while the cache is away.
            logger.warning("throttle counters unavailable (%s); letting the request through", error)
            return True


class UserThrottle(_FailOpen, UserRateThrottle):
    pass


class UploadThrottle(_FailOpen, ScopedRateThrottle):
    pass
