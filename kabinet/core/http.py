"""Small request helpers shared by pages and APIs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in configured)


def trusted_proxies() -> tuple[Network, ...]:
    """KABINET_TRUSTED_PROXIES as networks: the reverse proxies in front of the app server."""
    return _networks(tuple(getattr(settings, "KABINET_TRUSTED_PROXIES", ()) or ()))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def forwarded_client(remote_addr: str, forwarded_for: str, proxies: Iterable[Network]) -> str:
    """The client's address: the rightmost X-Forwarded-For hop that is not a trusted proxy.

    X-Forwarded-For is believed only when the immediate peer is a trusted proxy, and only as
    far as the proxies go: each trusted proxy appends the address it saw on the right, so a
    client's own X-Forwarded-For stays on the left, where it is never read. An unreadable hop
    ends the walk at the last address vouched for.
    """
    proxies = tuple(proxies)

    def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in proxies)

    peer = _address(remote_addr)
    if peer is None or not proxies or not trusted(peer):
        return remote_addr
    client = remote_addr
    for hop in reversed([part for part in forwarded_for.split(",") if part.strip()]):
        address = _address(hop)
        if address is None:
            break
        client = str(address)
        if not trusted(address):
            break
    return client


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the address they saw.

    With KABINET_TRUSTED_PROXIES empty (the default) X-Forwarded-For is ignored: trusting it
    from anyone would let a client pick its own rate-limit bucket or pass for a payment
    provider's address.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    client = forwarded_client(
        remote, request.META.get("HTTP_X_FORWARDED_FOR", ""), trusted_proxies()
    )
    return client or "0.0.0.0"  # noqa: S104 — a key, not a bind
