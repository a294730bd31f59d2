"""Endpoints the camera gateway calls (docs/GATEWAY_PROTOCOL.md). Bearer-token only,
no session, no CSRF: these are server-to-server calls."""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cameras.actions import (
    camera_stream_for_gateway,
    camera_sub_stream_for_gateway,
    record_view_event,
    redeem_grant,
    revoked_gids,
)
from cameras.gateways import record_heartbeat

EVENTS = ("started", "first_frame", "ended")


def _is_gid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def gateway_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        expected = f"Bearer {settings.GATEWAY_TOKEN}"
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return JsonResponse({"error": "unauthorized"}, status=401)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "body is not JSON"}, status=400)
        if not isinstance(body, dict):
            return JsonResponse({"error": "body must be a JSON object"}, status=400)
        return view(request, body)

    return wrapper


@gateway_only
def redeem(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    gid = body.get("gid")
    if not isinstance(gid, str):
        return JsonResponse({"error": "gid missing"}, status=400)
    if not _is_gid(gid):
        return JsonResponse({"error": "unknown"}, status=404)
    viewer_ip = body.get("viewer_ip")
    if viewer_ip is not None and not isinstance(viewer_ip, str):
        return JsonResponse({"error": "viewer_ip must be a string or null"}, status=400)
    grant, refusal = redeem_grant(
        gid, gateway=str(body.get("gateway", "")), viewer_ip=viewer_ip, address_reported="viewer_ip" in body
    )
    if refusal == "unknown" or grant is None:
        return JsonResponse({"error": "unknown"}, status=404)
    if refusal == "already_used":
        return JsonResponse({"error": "already used"}, status=409)
    if refusal is not None:
        return JsonResponse({"error": refusal}, status=403)
    # The view's limits as stored now, which the gateway applies (the signed grant's
    # own limits are only a ceiling there): one place decides how long anyone looks.
    return JsonResponse(
        {
            "rtsp_url": camera_stream_for_gateway(grant.camera),
            "rtsp_transport": "tcp",
            "sub_rtsp_url": camera_sub_stream_for_gateway(grant.camera),
            "hard_end": grant.hard_end.timestamp(),
            "max_view_s": grant.max_view_s,
            # The person chose a blurred picture: the gateway blurs until /internal/unblur.
            "blur": grant.blurred,
        }
    )


@gateway_only
def events(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    event = body.get("event")
    gid = body.get("gid")
    if event not in EVENTS or not _is_gid(gid):
        return JsonResponse({"error": "event and gid required"}, status=400)
    try:
        at = datetime.fromtimestamp(float(body.get("at", 0)), tz=UTC)
        bytes_sent = int(body.get("bytes_sent", 0))
    except (TypeError, ValueError, OverflowError, OSError):
        return JsonResponse({"error": "at and bytes_sent must be numbers"}, status=400)
    grant = record_view_event(
        str(gid),
        event=event,
        at=at,
        reason=str(body.get("reason", "")),
        bytes_sent=bytes_sent,
        transcoded=bool(body.get("transcoded", False)),
    )
    if grant is None:
        return JsonResponse({"error": "unknown"}, status=404)
    return JsonResponse({"ok": True})


@gateway_only
def revoked(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    gids = body.get("gids")
    if not isinstance(gids, list) or not all(isinstance(gid, str) for gid in gids):
        return JsonResponse({"error": "gids must be a list of strings"}, status=400)
    gateway = body.get("gateway")
    if isinstance(gateway, str) and gateway:
        # Sent every second, views or not: the heartbeat that tells which gateways are alive.
        record_heartbeat(gateway[:40])
    return JsonResponse({"revoked": revoked_gids(gids[:1000]) if gids else []})
