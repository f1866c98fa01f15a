"""Where outgoing requests may go: http(s) URLs whose host resolves to public addresses only.

Checked when a channel is saved (a clear 400) and again before every attempt, since DNS may change; the
request then connects to the very address that was checked (transport.py), so a name cannot be re-pointed
between the check and the connection.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from config.errors import ApplicationError

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(ApplicationError):
    """A URL the platform will not send to; the message says why, in plain words."""


@dataclass(frozen=True)
class Target:
    """A checked URL: the host as written (for Host and TLS) and the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: IPAddress

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def address_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        address = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{address}:{self.port}{self.path}"


def address_refusal(address: IPAddress) -> str | None:
    """Why an address is not a public one ("a loopback address"), or None when it is."""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    checks = [
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        # Shared (carrier-grade NAT), documentation and benchmarking ranges are none of the above.
        (not address.is_global, "not a public address"),
    ]
    return next((reason for refused, reason in checks if refused), None)


def url_parts(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of an http(s) URL, or UnsafeTarget saying what is wrong with it."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeTarget("The URL cannot be read; write it as https://host/path.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("Only http:// and https:// URLs can receive notifications.")
    if not parts.hostname:
        raise UnsafeTarget("The URL has no host name.")
    if parts.username or parts.password:
        raise UnsafeTarget("Put credentials in a custom header, not in the URL.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host name resolves to (an address literal is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeTarget(f"The host {host} could not be found.") from None
    # getaddrinfo may append a %scope to link-local IPv6 addresses; the address part is what is checked.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def target_check(url: str, *, allow_private: bool) -> Target:
    """The URL, checked and resolved; UnsafeTarget when it is not http(s) or not every address is public."""
    scheme, host, port, path = url_parts(url)
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                raise UnsafeTarget(
                    f"Refused: {host} is {address}, {reason}. Notifications go only to public addresses."
                    if str(address) != host
                    else f"Refused: {host} is {reason}. Notifications go only to public addresses."
                )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
