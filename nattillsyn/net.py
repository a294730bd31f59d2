"""The address of the browser behind a request, as far as this deployment can know it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address in its plain form, or None when it cannot be told.

    1. Without trusted proxies (``TRUSTED_PROXY_COUNT=0``, the default) it is the
       socket's peer, ``REMOTE_ADDR``. ``X-Forwarded-For`` is then only the client's
       own claim and never read: anyone can send ``X-Forwarded-For: 10.0.0.1``.
    2. Behind N proxies that each append the address they received the request from,
       the client is the N-th entry of ``X-Forwarded-For`` counted from the right;
       entries further left were written by the client and are ignored.
    3. Fewer entries than proxies: the request did not come through them (or they are
       misconfigured), so None, and camera access fails closed.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies == 0:
        return normalise_ip(request.META.get("REMOTE_ADDR"))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    # Repeated headers arrive joined with commas (WSGI), so one split reads them all.
    hops = [hop.strip() for hop in forwarded.split(",")] if forwarded else []
    if len(hops) < proxies:
        return None
    return normalise_ip(hops[-proxies])


def normalise_ip(value: str | None) -> str | None:
    """``value`` as a plain address, or None if it is not one. A dual-stack socket gives
    IPv4 clients as ``::ffff:10.0.0.1``: that is 10.0.0.1. An IPv6 zone (``%eth0``)
    names the server's interface, not the client, and is dropped."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
