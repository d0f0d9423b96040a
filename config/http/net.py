"""The client address, as far as it can be trusted."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for proxy in proxies:
        try:
            networks.append(ipaddress.ip_network(proxy, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {proxy!r} is not an IP address or network.") from None
    return tuple(networks)


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address, with an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) read as the IPv4 one."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _parse(hop: str) -> str:
    """One address as a proxy wrote it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`."""
    hop = hop.strip()
    if hop.startswith("["):
        return hop[1 : hop.find("]")] if "]" in hop else hop
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = _ip(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """`REMOTE_ADDR`, or the right-most `X-Forwarded-For` hop that is not a trusted proxy.

    The header is honoured only when the request itself came from a trusted proxy; walking it from the
    right means a client cannot choose its own address by sending a forged header: the hops it wrote
    sit to the left of the one our proxy appended.
    """
    cached = getattr(request, "_client_ip", None)
    if cached is not None:
        return cached
    remote = request.META.get("REMOTE_ADDR", "") or ""
    address = remote
    networks = _trusted_networks(tuple(settings.TRUSTED_PROXIES))
    if networks and _is_trusted(remote, networks):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [_parse(hop) for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _is_trusted(hop, networks):
                address = hop
                break
        else:
            address = hops[0] if hops else remote
    try:
        address = str(_ip(address))
    except ValueError:
        address = remote
    request._client_ip = address  # type: ignore[attr-defined]
    return address
