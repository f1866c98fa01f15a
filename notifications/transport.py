"""Outgoing HTTP for webhooks and Slack: checked targets, pinned addresses, short timeouts, capped answers.

httpx connects to the address targets.py checked, with the URL's own name in the Host header and as the TLS
server name (SNI, certificate check), so a DNS answer that changes after the check is never used. Redirects
are not followed: a 3xx is an answer like any other. At most RESPONSE_CAP bytes of the answer are read.
"""

import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from notifications.targets import Target, UnsafeTarget, target_check

RESPONSE_CAP = 4096
USER_AGENT = "LogPlatform-Notifications/1.0"


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status (None for no HTTP answer or for email), an excerpt, an error sentence."""

    status_code: int | None
    excerpt: str = ""
    duration_ms: int = 0
    error: str = ""
    # The target itself was refused (not http(s), a private address): retrying would not help.
    refused: bool = False

    @property
    def succeeded(self) -> bool:
        return not self.error and (self.status_code is None or 200 <= self.status_code < 300)


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _read_capped(response: httpx.Response, deadline: float) -> bytes:
    """The answer's first RESPONSE_CAP bytes; the rest is never read (the connection is closed)."""
    excerpt = b""
    for chunk in response.iter_raw(RESPONSE_CAP):
        excerpt += chunk
        if len(excerpt) >= RESPONSE_CAP or time.monotonic() > deadline:
            break
    return excerpt[:RESPONSE_CAP]


def request_for(target: Target, *, body: bytes, headers: dict[str, str]) -> tuple[str, dict, dict]:
    """URL, headers and httpx extensions of a POST to the checked address under the URL's host name."""
    sent = {
        "User-Agent": USER_AGENT,
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        # Compressed answers could inflate past the cap: ask for none.
        "Accept-Encoding": "identity",
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return target.address_url, sent, extensions


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST a JSON body; never raises for what the network or the receiver does."""
    started = time.monotonic()
    try:
        target = target_check(url, allow_private=settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS)
    except UnsafeTarget as refusal:
        return Answer(None, duration_ms=_elapsed_ms(started), error=refusal.message, refused=True)
    address_url, sent, extensions = request_for(target, body=body, headers=headers)
    read_timeout = settings.NOTIFICATIONS_READ_TIMEOUT
    timeout = httpx.Timeout(read_timeout, connect=settings.NOTIFICATIONS_CONNECT_TIMEOUT)
    try:
        # trust_env off: no proxy from the environment may carry the request somewhere unchecked.
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request("POST", address_url, content=body, headers=sent, extensions=extensions)
            response = client.send(request, stream=True)
            try:
                excerpt = _read_capped(response, deadline=time.monotonic() + read_timeout)
            finally:
                response.close()
            status_code, location = response.status_code, response.headers.get("location", "")
    except httpx.TimeoutException as error:
        return Answer(None, duration_ms=_elapsed_ms(started), error=f"No answer in time ({type(error).__name__})")
    except httpx.HTTPError as error:
        return Answer(
            None, duration_ms=_elapsed_ms(started), error=f"Could not connect: {error or type(error).__name__}"
        )
    error = ""
    if 300 <= status_code < 400:
        error = f"Redirect to {location[:200] or 'nowhere'} not followed"
    elif not 200 <= status_code < 300:
        error = f"The receiver answered {status_code}"
    return Answer(
        status_code,
        excerpt=excerpt.decode("utf-8", errors="replace"),
        duration_ms=_elapsed_ms(started),
        error=error,
    )
