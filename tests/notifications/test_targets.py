"""Outgoing requests go only to http(s) URLs on public addresses (unless private targets are allowed)."""

import ipaddress

import pytest

from notifications.targets import Target, UnsafeTarget, address_refusal, target_check, url_parts
from notifications.transport import request_for


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.10", "a private address"),
        ("fd00::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.251", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 (an address under test, not a bind)
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),
        ("::ffff:127.0.0.1", "a loopback address"),
    ],
)
def test_non_public_addresses_are_refused_with_the_reason(address, reason):
    assert address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "151.101.1.69", "2606:4700:4700::1111"])
def test_public_addresses_are_accepted(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.com/x", "Only http:// and https:// URLs can receive notifications."),
        ("file:///etc/passwd", "Only http:// and https:// URLs can receive notifications."),
        ("https:///path", "The URL has no host name."),
        ("https://user:pw@hooks.example.com/", "Put credentials in a custom header, not in the URL."),
        ("https://hooks.example.com:99999/", "The URL cannot be read; write it as https://host/path."),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url, message):
    with pytest.raises(UnsafeTarget) as refusal:
        url_parts(url)

    assert refusal.value.message == message


def test_a_loopback_target_is_refused_unless_private_targets_are_allowed():
    with pytest.raises(UnsafeTarget) as refusal:
        target_check("http://127.0.0.1:8000/hook", allow_private=False)

    assert refusal.value.message == (
        "Refused: 127.0.0.1 is a loopback address. Notifications go only to public addresses."
    )
    assert target_check("http://127.0.0.1:8000/hook", allow_private=True).address == ipaddress.ip_address("127.0.0.1")


def test_a_name_is_checked_by_the_addresses_it_resolves_to():
    with pytest.raises(UnsafeTarget) as refusal:
        target_check("http://localhost:9/hook", allow_private=False)

    assert refusal.value.message.startswith("Refused: localhost is ")
    assert "a loopback address" in refusal.value.message


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(UnsafeTarget) as refusal:
        target_check("https://no-such-host.invalid/hook", allow_private=False)

    assert refusal.value.message == "The host no-such-host.invalid could not be found."


def test_the_request_goes_to_the_checked_address_under_the_urls_own_name():
    target = Target(
        scheme="https",
        host="hooks.example.com",
        port=443,
        path="/in?team=ops",
        address=ipaddress.ip_address("93.184.216.34"),
    )

    url, headers, extensions = request_for(target, body=b"{}", headers={"webhook-id": "msg_1", "Host": "evil.example"})

    assert url == "https://93.184.216.34:443/in?team=ops"
    assert headers["Host"] == "hooks.example.com"
    assert headers["webhook-id"] == "msg_1"
    # TLS: the name is sent as SNI and the certificate is checked against it, not against the address.
    assert extensions == {"sni_hostname": "hooks.example.com"}


def test_a_non_default_port_and_an_ipv6_address_are_written_correctly():
    target = Target(
        scheme="http", host="hooks.example.com", port=8080, path="/", address=ipaddress.ip_address("2606:4700::1")
    )

    url, headers, extensions = request_for(target, body=b"{}", headers={})

    assert url == "http://[2606:4700::1]:8080/"
    assert headers["Host"] == "hooks.example.com:8080"
    assert extensions == {}
