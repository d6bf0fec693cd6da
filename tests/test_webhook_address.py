"""Where a webhook may go: every kind of non-public address is refused, including
IPv4 addresses carried inside IPv6 ones; public ones pass."""

from __future__ import annotations

import ipaddress

import pytest

from reminders.webhooks import address


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # cloud metadata (link-local)
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "224.0.0.251",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",  # unique local
        "ff02::1",  # multicast
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo: client 10.0.0.1
    ],
)
def test_not_public(ip: str) -> None:
    assert not address.is_public(ipaddress.ip_address(ip))


@pytest.mark.parametrize("ip", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public(ip: str) -> None:
    assert address.is_public(ipaddress.ip_address(ip))


def test_a_name_with_any_private_address_is_refused() -> None:
    target = address.parse("https://localhost:8443/x", private_ok=False)
    assert (target.host, target.port, target.path) == ("localhost", 8443, "/x")
    with pytest.raises(address.Refused, match="private, loopback or reserved"):
        address.resolve(target, private_ok=False)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "http://example.com/x", "https://", "https://u:p@example.com/"],
)
def test_only_plain_https_urls(url: str) -> None:
    with pytest.raises(address.Refused):
        address.parse(url, private_ok=False)


def test_http_only_when_private_addresses_are_allowed() -> None:
    assert address.parse("http://127.0.0.1:9/x", private_ok=True).scheme == "http"
