"""HTTP face of the gateway: WHEP for browsers, /internal/* for the control plane."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.config import GatewayConfig
from gateway.service import Gateway, ViewRefused, check_camera_address

log = logging.getLogger(__name__)

GATEWAY_KEY = web.AppKey("gateway", Gateway)
MAX_BODY_BYTES = 64 * 1024  # an SDP offer is a few kB
WHEP_PREFIX = "/whep"


# What a WHEP player may send and must be able to read (draft-ietf-wish-whep, and
# RFC 9725 for WHIP, its twin): PATCH and If-Match for trickle ICE/ICE restarts, which
# this gateway refuses with a readable 405 rather than a CORS failure.
CORS_ALLOW_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, If-Match"
CORS_EXPOSE_HEADERS = "Location, ETag, Link, Accept-Patch, Accept-Post, Allow, WWW-Authenticate, Picture-Quality"
ENDPOINT_METHODS = "GET, POST, OPTIONS"
SESSION_METHODS = "GET, DELETE, OPTIONS"  # no PATCH: non-trickle, no ICE restart (aiortc has neither)


def _error(status: int, message: str, code: str = "", headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, str] = {"error": message}
    if code:
        body["code"] = code
    response = web.json_response(body, status=status, headers=headers)
    if status == 401:
        # RFC 6750 §3: a bearer-protected resource names its scheme on every 401.
        response.headers["WWW-Authenticate"] = 'Bearer realm="nattillsyn-gateway"'
    return response


def _bearer(request: web.Request) -> str | None:
    """The bearer credential, or None when missing or not plain ASCII.

    Grants and the gateway token are ASCII; anything else is refused here, before
    code that encodes it (HMAC, compare_digest) can fail on it.
    """
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or not credential.isascii() or not credential.isprintable():
        return None
    return credential


def _gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY_KEY]


def normalise_ip(value: str | None) -> str | None:
    """``value`` as a plain address, or None. Mirrors ``nattillsyn.net.normalise_ip``
    (the gateway imports no Django): ``::ffff:10.0.0.1`` is 10.0.0.1, zones dropped."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def viewer_ip(request: web.Request, trusted_proxies: int) -> str | None:
    """Where the WHEP offer came from, as the web side's ``client_ip`` reads it.

    Without trusted proxies the socket's peer; behind N proxies that each append to
    X-Forwarded-For, the N-th entry from the right (entries further left were written
    by the client); fewer entries than proxies: unknown (None), and the redeem fails.
    """
    if trusted_proxies == 0:
        return normalise_ip(request.remote)
    hops = [hop.strip() for value in request.headers.getall("X-Forwarded-For", []) for hop in value.split(",")]
    if len(hops) < trusted_proxies:
        return None
    return normalise_ip(hops[-trusted_proxies])


def ice_server_links(config: GatewayConfig) -> list[str]:
    """``Link`` header values for the configured STUN/TURN servers (WHEP §4.4)."""
    links = []
    for url in config.ice_servers:
        link = f'<{url}>; rel="ice-server"'
        if url.startswith(("turn:", "turns:")) and config.ice_username:
            link += f'; username="{config.ice_username}"; credential="{config.ice_credential}"'
            link += '; credential-type="password"'
        links.append(link)
    return links


def _is_preflight(request: web.Request) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


@web.middleware
async def cors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """CORS for the WHEP endpoints, for the control plane's origins only.

    A request from any other page is refused outright rather than only hidden
    from that page's scripts: the grant in it may have been lifted.
    """
    origin = request.headers.get("Origin")
    if not request.path.startswith(WHEP_PREFIX) or origin is None:
        return await handler(request)
    if origin not in _gateway(request).config.allowed_origins:
        return _error(403, "origin not allowed", "origin_not_allowed")
    if _is_preflight(request):
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    response.headers["Vary"] = "Origin"
    return response


async def whep_offer(request: web.Request) -> web.Response:
    token = _bearer(request)
    if token is None:
        return _error(401, "missing or malformed grant", "grant_invalid")
    if request.content_type != "application/sdp":
        return _error(
            415, "expected Content-Type: application/sdp", "unsupported_media_type", {"Accept-Post": "application/sdp"}
        )
    try:
        offer = (await request.read()).decode("utf-8")  # SDP is UTF-8 (RFC 8866 §5)
    except UnicodeDecodeError:
        return _error(400, "the offer is not UTF-8 text", "bad_offer")
    gateway = _gateway(request)
    try:
        sid, answer = await gateway.open_view(token, offer, viewer_ip(request, gateway.config.trusted_proxy_count))
    except ViewRefused as exc:
        gateway.metrics.refused.labels(exc.code or f"http_{exc.status}").inc()
        return _error(exc.status, exc.message, exc.code)
    response = web.Response(
        status=201,
        body=answer.encode(),
        content_type="application/sdp",
        headers={"Location": f"{WHEP_PREFIX}/sessions/{sid}"},
    )
    for link in ice_server_links(gateway.config):
        response.headers.add("Link", link)
    return response


async def whep_delete(request: web.Request) -> web.Response:
    token = _bearer(request)
    if token is None:
        return _error(401, "missing or malformed grant", "grant_invalid")
    try:
        await _gateway(request).close_view(request.match_info["sid"], token)
    except ViewRefused as exc:
        return _error(exc.status, exc.message, "session_not_found" if exc.status == 404 else "grant_invalid")
    return web.json_response({"ended": True})


async def whep_endpoint_get(_request: web.Request) -> web.Response:
    # WHEP defines no body for GET; players may use it to check the endpoint is there.
    return web.Response(status=204)


async def whep_session_get(request: web.Request) -> web.Response:
    """204, with ``Picture-Quality: main`` or ``sub`` (the camera's low-bitrate stream,
    pulled when its link cannot carry the main one): the player tells the operator."""
    quality = _gateway(request).session_quality(request.match_info["sid"])
    if quality is None:
        return _error(404, "no such session", "session_not_found")
    return web.Response(status=204, headers={"Picture-Quality": quality})


def _options(allow: str, accept_post: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def options(_request: web.Request) -> web.Response:
        # Browsers' preflights (with Origin) are answered by the CORS middleware.
        headers = {"Allow": allow}
        if accept_post:
            headers["Accept-Post"] = "application/sdp"
        return web.Response(status=200, headers=headers)

    return options


def _not_allowed(allow: str, message: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def not_allowed(_request: web.Request) -> web.Response:
        return _error(405, message, "method_not_allowed", {"Allow": allow})

    return not_allowed


def _has_gateway_token(request: web.Request) -> bool:
    token = _bearer(request) or ""
    return hmac.compare_digest(token.encode(), _gateway(request).config.gateway_token.encode())


async def _internal_json(request: web.Request) -> dict[str, Any]:
    """The JSON body of a control-plane call, after checking its bearer token."""
    if not _has_gateway_token(request):
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": "bad gateway token"}),
            content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="nattillsyn-gateway"'},
        )
    try:
        # From bytes: json detects UTF-8/16/32 itself, and a bogus charset parameter
        # in Content-Type cannot make decoding fail with something other than ValueError.
        body = json.loads(await request.read())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "expected a JSON object"}), content_type="application/json")
    return body


async def prepare(request: web.Request) -> web.Response:
    body = await _internal_json(request)
    grant, rtsp_url = body.get("grant"), body.get("rtsp_url")
    if not isinstance(grant, str) or not isinstance(rtsp_url, str):
        return _error(400, "grant and rtsp_url are required")
    try:
        _gateway(request).prepare(grant, rtsp_url, str(body.get("rtsp_transport") or "tcp"))
    except ViewRefused as exc:
        return _error(exc.status, exc.message)
    return web.json_response({"prepared": True}, status=202)


async def unblur(request: web.Request) -> web.Response:
    """The operator switched a blurred view to the clear picture (decided and audited by the control plane)."""
    body = await _internal_json(request)
    gid = body.get("gid")
    if not isinstance(gid, str):
        return _error(400, "gid (string) is required")
    if not _gateway(request).show_clear(gid):
        return _error(404, "no live view of this grant", "session_not_found")
    return web.json_response({"clear": True})


async def probe(request: web.Request) -> web.Response:
    body = await _internal_json(request)
    rtsp_url, seconds = body.get("rtsp_url"), body.get("seconds", 3)
    transport = str(body.get("rtsp_transport") or "tcp")
    if not isinstance(rtsp_url, str):
        return _error(400, "rtsp_url (string) is required")
    # JSON may carry NaN and Infinity: a probe must end.
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return _error(400, "seconds must be a finite number")
    try:
        check_camera_address(rtsp_url, transport)
    except ViewRefused as exc:
        return _error(exc.status, exc.message)
    result = await _gateway(request).probe(rtsp_url, transport, float(seconds))
    return web.json_response(result.as_dict())


async def health(request: web.Request) -> web.Response:
    """Up or down for anyone; who is being viewed only with the gateway token."""
    gateway = _gateway(request)
    body: dict[str, Any] = {"status": "up" if gateway.up else "down"}
    if _has_gateway_token(request):
        body.update(gateway.health())
    return web.json_response(body, status=200 if gateway.up else 503)


async def metrics(request: web.Request) -> web.Response:
    """For Prometheus, with the monitoring token only; 404 otherwise (or when none is set)."""
    gateway = _gateway(request)
    token = gateway.config.metrics_token
    if not token or not hmac.compare_digest((_bearer(request) or "").encode(), token.encode()):
        raise web.HTTPNotFound()
    return web.Response(body=generate_latest(gateway.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(gateway: Gateway) -> web.Application:
    app = web.Application(middlewares=[cors], client_max_size=MAX_BODY_BYTES)
    app[GATEWAY_KEY] = gateway
    session = WHEP_PREFIX + "/sessions/{sid}"
    app.router.add_post(WHEP_PREFIX, whep_offer)
    app.router.add_get(WHEP_PREFIX, whep_endpoint_get)
    app.router.add_route("OPTIONS", WHEP_PREFIX, _options(ENDPOINT_METHODS, accept_post=True))
    # Registered last: every other method gets a 405 whose Allow names what is served.
    app.router.add_route("*", WHEP_PREFIX, _not_allowed(ENDPOINT_METHODS, "method not allowed"))
    app.router.add_get(session, whep_session_get)
    app.router.add_delete(session, whep_delete)
    app.router.add_route("OPTIONS", session, _options(SESSION_METHODS, accept_post=False))
    # PATCH included: trickle ICE and ICE restarts are not supported (WHEP allows a 405;
    # the offer must hold every candidate, as a browser's does once gathering completes).
    app.router.add_route("*", session, _not_allowed(SESSION_METHODS, "trickle ICE and ICE restarts are not supported"))
    app.router.add_post("/internal/prepare", prepare)
    app.router.add_post("/internal/probe", probe)
    app.router.add_post("/internal/unblur", unblur)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    return app
