"""The patrol's phone as an app: its manifest, its service worker, and turning push
alerts on and off for the phone (JSON, posted by static/console/patrol.js). Routed
under the patrol's path in console/urls.py."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import require_role
from accounts.models import Role
from audit.refusals import audit_refusal
from nattillsyn.net import client_ip
from notifications import actions
from notifications.push import endpoint_allowed


@login_required
@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest: "Add to home screen" opens the patrol's list full screen."""
    require_role(request.user, Role.PATROL, Role.SHIFT_LEAD)  # those who may open the list
    patrol = reverse("console:patrol")
    data = {
        "name": _("Nattillsyn – night patrol"),
        "short_name": _("Night patrol"),
        "lang": request.LANGUAGE_CODE,
        "start_url": patrol,
        "scope": patrol,
        "display": "standalone",
        "background_color": "#11151c",
        "theme_color": "#11151c",
        "icons": [
            {"src": static("nattillsyn/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("nattillsyn/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("nattillsyn/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    require_role(request.user, Role.PATROL, Role.SHIFT_LEAD)
    # Served from the patrol's path, not /static/, so its scope is the patrol's pages.
    response = render(
        request,
        "notifications/service-worker.js",
        {"icon": static("nattillsyn/icon-192.png"), "patrol_url": reverse("console:patrol")},
        content_type="text/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"  # the browser checks for a new worker on every visit
    return response


def _base64url_bytes(value: Any) -> bytes | None:
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _read_subscription(request: HttpRequest) -> actions.BrowserSubscription | None:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    endpoint = data.get("endpoint")
    keys: dict[str, Any] = data["keys"] if isinstance(data.get("keys"), dict) else {}
    public_key = _base64url_bytes(keys.get("p256dh"))
    auth = _base64url_bytes(keys.get("auth"))
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= 1000:
        return None
    # A P-256 point, uncompressed (RFC 8291 §3.1), and a 16-byte secret (§3.2).
    if public_key is None or len(public_key) != 65 or public_key[0] != 4 or auth is None or len(auth) != 16:
        return None
    return actions.BrowserSubscription(
        endpoint=endpoint,
        p256dh=keys["p256dh"],
        auth=keys["auth"],
        user_agent=request.headers.get("User-Agent", "")[:300],
    )


@login_required
@require_POST
def subscribe(request: HttpRequest) -> JsonResponse:
    """Alerts on this phone for the user, in every municipality where they are on patrol."""
    tenant_ids = require_role(request.user, Role.PATROL, kind="PushSubscription")
    subscription = _read_subscription(request)
    if subscription is None:
        return _bad_request(_("The phone sent an alert subscription that could not be read. Reload the page."))
    if not endpoint_allowed(subscription.endpoint):
        audit_refusal(
            actor=request.user,
            ip=client_ip(request),
            kind="PushSubscription",
            object_id="",
            reason="push_service_not_allowed",
        )
        return _bad_request(_("This phone's push service is not allowed here. Keep the page open instead."))
    created = actions.subscribe(subscription, acting_user=request.user, tenant_ids=tenant_ids, ip=client_ip(request))
    return JsonResponse({"subscribed": True, "new": created})


@login_required
@require_POST
def unsubscribe(request: HttpRequest) -> JsonResponse:
    """No more alerts on this phone for the user (turned off, or logging out)."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return _bad_request(_("The phone sent an alert subscription that could not be read. Reload the page."))
    removed = actions.unsubscribe(endpoint, acting_user=request.user, ip=client_ip(request))
    return JsonResponse({"subscribed": False, "removed": removed})
