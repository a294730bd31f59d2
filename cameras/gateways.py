"""Which camera gateway serves a camera, and which gateways are alive.

The rule (docs/GATEWAY_PROTOCOL.md, "Several gateways"), for each new grant of a camera
of site S, among the gateways the administrator listed (``Gateway``):

1. S's primaries (not standby), lowest priority first: the first one alive;
2. else S's standbys, the same way;
3. else any other gateway alive, primaries before standbys (a whole site down must not
   stop the checks: the picture crosses the network further, it still comes);
4. none alive: the one step 1 (or 2, 3) names, regardless; the view fails as a gateway
   that does not answer always did, and the operator can record "no picture".

A camera without a site starts at step 3. With no gateway listed at all the settings'
one gateway serves every camera (``make run``: ``NATTILLSYN_GATEWAY_URL``, grants for
``NATTILLSYN_GATEWAY_ID``, by default ``"*"``, any gateway).

Alive: its revocation poll, sent every second whatever it serves, came within
``GATEWAY_HEARTBEAT_TIMEOUT_S``. The choice is made when the grant is issued and signed
into it; a running view never moves (WebRTC cannot follow it to another process), the
operator opens the check again and the new grant goes to a gateway that is alive.
"""

from __future__ import annotations

import logging
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings

from cameras.models import Camera, Gateway
from nattillsyn import clock

if TYPE_CHECKING:
    from cameras.models import ViewGrant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """Where one grant's view goes."""

    gateway_id: str  # signed into the grant; "*" only for the settings' one gateway
    public_url: str  # for the browser's WHEP offer
    internal_url: str  # for the control plane's calls (prepare, unblur, probe)
    preferred: str = ""  # the gateway the rule names first, when another (alive) serves instead


def settings_route() -> Route:
    public = str(settings.GATEWAY_PUBLIC_URL or settings.GATEWAY_URL).rstrip("/")
    return Route(str(settings.GATEWAY_ID), public, str(settings.GATEWAY_URL).rstrip("/"))


def _route(gateway: Gateway, preferred: Gateway | None = None) -> Route:
    public = gateway.public_url.rstrip("/")
    return Route(
        gateway.gateway_id,
        public,
        (gateway.internal_url or gateway.public_url).rstrip("/"),
        preferred.gateway_id if preferred is not None and preferred.pk != gateway.pk else "",
    )


def is_alive(gateway: Gateway, now: datetime) -> bool:
    seen = gateway.last_seen_at
    return seen is not None and now - seen < timedelta(seconds=settings.GATEWAY_HEARTBEAT_TIMEOUT_S)


def candidates(site: str, gateways: list[Gateway]) -> list[Gateway]:
    """Steps 1–3 of the rule, in order."""

    def order(gateway: Gateway) -> tuple[bool, int, str]:
        return (gateway.standby, gateway.priority, gateway.gateway_id)

    own = sorted((g for g in gateways if site and g.site == site), key=order)
    others = sorted((g for g in gateways if not site or g.site != site), key=order)
    return own + others


class Router:
    """The rule above over the gateways as listed now (one query for many cameras)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.gateways = list(Gateway.objects.all())
        self.now = now or clock.now()

    def route(self, site: str) -> Route:
        if not self.gateways:
            return settings_route()
        ordered = candidates(site, self.gateways)
        for gateway in ordered:
            if is_alive(gateway, self.now):
                return _route(gateway, ordered[0])
        return _route(ordered[0])


def route_for_camera(camera: Camera, now: datetime | None = None) -> Route:
    """The gateway a new grant of ``camera`` goes to (the rule above)."""
    return Router(now).route(camera.site)


def route_for_grant(grant: ViewGrant) -> Route:
    """The gateway a stored grant was issued for (its view runs there)."""
    gateway = Gateway.objects.filter(gateway_id=grant.gateway).first()
    return _route(gateway) if gateway is not None else settings_route()


def record_heartbeat(gateway_id: str) -> None:
    """The gateway's revocation poll came: it is alive. A telemetry timestamp, written
    every second, so not audited (the audit log records whose views went where: the
    ``gateway`` of each CHECK_OPENED entry)."""
    Gateway.objects.filter(gateway_id=gateway_id).update(last_seen_at=clock.now())


def check_reported_loss(gateway_id: str) -> bool:
    """An operator's browser lost its view's gateway (kill -9, a host down) and asks for
    the view again before the missed heartbeats would tell. The browser is not believed:
    the gateway's /health is asked, briefly, and only a gateway that does not answer is
    marked down (until its next heartbeat). Returns whether it was marked down."""
    gateway = Gateway.objects.filter(gateway_id=gateway_id).first()
    if gateway is None or gateway.last_seen_at is None:
        return False
    internal = (gateway.internal_url or gateway.public_url).rstrip("/")
    try:
        with urllib.request.urlopen(f"{internal}/health", timeout=settings.GATEWAY_SUSPECT_PROBE_S) as response:
            if response.status == 200:
                return False
    except (OSError, ValueError) as exc:
        log.warning("gateway %s reported lost and does not answer: %s", gateway_id, exc)
    Gateway.objects.filter(pk=gateway.pk, last_seen_at__lte=clock.now()).update(last_seen_at=None)
    return True
