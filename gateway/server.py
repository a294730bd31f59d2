"""HTTP face of the gateway: WHEP for browsers, /internal/* for the control plane."""

from __future__ import annotations

import hmac
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.service import Gateway, ViewRefused, check_camera_address

log = logging.getLogger(__name__)

GATEWAY_KEY = web.AppKey("gateway", Gateway)
MAX_BODY_BYTES = 64 * 1024  # an SDP offer is a few kB
WHEP_PREFIX = "/whep"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _bearer(request: web.Request) -> str | None:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


def _gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY_KEY]


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
        return _error(403, "origin not allowed")
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "POST, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = "Location"
    response.headers["Vary"] = "Origin"
    return response


async def whep_offer(request: web.Request) -> web.Response:
    token = _bearer(request)
    if token is None:
        return _error(401, "missing grant")
    if request.content_type != "application/sdp":
        return _error(400, "expected Content-Type: application/sdp")
    try:
        sid, answer = await _gateway(request).open_view(token, await request.text())
    except ViewRefused as exc:
        return _error(exc.status, exc.message)
    return web.Response(
        status=201,
        body=answer.encode(),
        content_type="application/sdp",
        headers={"Location": f"{WHEP_PREFIX}/sessions/{sid}"},
    )


async def whep_delete(request: web.Request) -> web.Response:
    token = _bearer(request)
    if token is None:
        return _error(401, "missing grant")
    try:
        await _gateway(request).close_view(request.match_info["sid"], token)
    except ViewRefused as exc:
        return _error(exc.status, exc.message)
    return web.json_response({"ended": True})


async def whep_options(_request: web.Request) -> web.Response:
    # Browsers' preflights (with Origin) are answered by the CORS middleware.
    return web.Response(status=204, headers={"Allow": "POST, DELETE, OPTIONS"})


async def whep_patch(_request: web.Request) -> web.Response:
    # Non-trickle: the offer already held every candidate (WHEP allows 405 here).
    return _error(405, "trickle ICE is not supported")


async def _internal_json(request: web.Request) -> dict[str, Any]:
    """The JSON body of a control-plane call, after checking its bearer token."""
    token = _bearer(request) or ""
    if not hmac.compare_digest(token.encode(), _gateway(request).config.gateway_token.encode()):
        raise web.HTTPUnauthorized(text=json.dumps({"error": "bad gateway token"}), content_type="application/json")
    try:
        body = await request.json()
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
    return web.json_response(_gateway(request).health())


def create_app(gateway: Gateway) -> web.Application:
    app = web.Application(middlewares=[cors], client_max_size=MAX_BODY_BYTES)
    app[GATEWAY_KEY] = gateway
    app.router.add_post(WHEP_PREFIX, whep_offer)
    app.router.add_route("OPTIONS", WHEP_PREFIX, whep_options)
    app.router.add_delete(WHEP_PREFIX + "/sessions/{sid}", whep_delete)
    app.router.add_patch(WHEP_PREFIX + "/sessions/{sid}", whep_patch)
    app.router.add_route("OPTIONS", WHEP_PREFIX + "/sessions/{sid}", whep_options)
    app.router.add_post("/internal/prepare", prepare)
    app.router.add_post("/internal/probe", probe)
    app.router.add_get("/health", health)
    return app
