"""Where a webhook may go (server-side request forgery): https only, and a host
whose every address is public. Checked when the endpoint is added and again
before every send (the name may resolve elsewhere by then: DNS rebinding); the
send then connects to the address that was checked, nowhere else.

MAPBOT_WEBHOOK_ALLOW_PRIVATE=1 (local testing only) allows http and private,
loopback and link-local addresses.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOW_ENV = "MAPBOT_WEBHOOK_ALLOW_PRIVATE"
MAX_URL = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(ValueError):
    """Not a place we send to; the message says why (no secret in it)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (the TLS name and the Host header)
    port: int
    path: str  # path and query

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def allow_private() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip() == "1"


def parse(url: str, *, private_ok: bool | None = None) -> Target:
    """The URL's parts, or Refused: https (http only when private addresses are
    allowed), a host, no user name or password in it."""
    private_ok = allow_private() if private_ok is None else private_ok
    if len(url) > MAX_URL:
        raise Refused(f"That URL is longer than {MAX_URL} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise Refused("That isn't a URL I can read.") from None
    schemes = ("https", "http") if private_ok else ("https",)
    if parts.scheme.lower() not in schemes:
        raise Refused("A webhook URL must start with `https://`.")
    if not parts.hostname:
        raise Refused("That URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("Put no user name or password in the URL: every request is signed.")
    scheme = parts.scheme.lower()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80), path)


def is_public(ip: IPAddress) -> bool:
    """A globally reachable unicast address; an IPv6 address that carries an IPv4
    one (mapped, NAT64, 6to4, Teredo) is judged by the IPv4 address too."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(v4 is not None and not is_public(v4) for v4 in embedded):
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(target: Target, *, private_ok: bool | None = None) -> IPAddress:
    """The address to connect to: every address the name has must be public (or
    private ones allowed), else Refused. One lookup; the caller connects to it."""
    private_ok = allow_private() if private_ok is None else private_ok
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused("I can't find that host (DNS).") from None
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not found:
        raise Refused("I can't find that host (DNS).")
    if not private_ok:
        bad = [ip for ip in found if not is_public(ip)]
        if bad:
            raise Refused(
                f"That host is at a private, loopback or reserved address ({bad[0]}): "
                "I only send to public addresses."
            )
    return found[0]


def check(url: str) -> tuple[Target, IPAddress]:
    target = parse(url)
    return target, resolve(target)
