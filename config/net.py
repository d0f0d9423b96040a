"""The client address, as far as it can be trusted."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
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
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _is_trusted(hop, networks):
                address = hop
                break
        else:
            address = hops[0] if hops else remote
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        address = remote
    request._client_ip = address  # type: ignore[attr-defined]
    return address
