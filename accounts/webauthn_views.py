"""Security keys: registered by a fully logged-in user, used at the second step of login."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import webauthn
from accounts.second_factor import SESSION_KEY
from accounts.second_factor_views import complete_login, next_url
from accounts.webauthn import keys_of
from nattillsyn.errors import ActionRefused


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _fully_logged_in(request: HttpRequest) -> bool:
    return bool(request.session.get(SESSION_KEY))


@login_required
def keys(request: HttpRequest) -> HttpResponse:
    """The user's security keys (the second-factor area; only after a full login)."""
    if not _fully_logged_in(request):
        return redirect(f"/mfa/?next={request.path}")
    return render(
        request,
        "accounts/security_keys.html",
        {"keys": keys_of(request.user).order_by("created_at")},
    )


@login_required
@require_POST
def registration_options(request: HttpRequest) -> HttpResponse:
    if not _fully_logged_in(request):
        return JsonResponse({"error": _("Log in fully first.")}, status=403)
    return HttpResponse(webauthn.registration_options(request), content_type="application/json")


@login_required
@require_POST
def register(request: HttpRequest) -> HttpResponse:
    if not _fully_logged_in(request):
        return JsonResponse({"error": _("Log in fully first.")}, status=403)
    body = _json_body(request)
    if body is None or not isinstance(body.get("credential"), dict):
        return JsonResponse({"error": _("The request is not valid.")}, status=400)
    try:
        key = webauthn.register_key(request, body["credential"], str(body.get("name", "")))
    except ActionRefused as refusal:
        return JsonResponse({"error": str(refusal)}, status=400)
    messages.success(request, _("The security key %(name)s is registered.") % {"name": key.name})
    return JsonResponse({"ok": True, "next": "/mfa/keys/"})


@login_required
@require_POST
def remove(request: HttpRequest, key_id: int) -> HttpResponse:
    if not _fully_logged_in(request):
        return redirect("/mfa/")
    key = keys_of(request.user).filter(id=key_id).first()
    if key is None:
        raise Http404
    webauthn.remove_key(request, key)
    messages.success(request, _("The security key is removed."))
    return redirect("/mfa/keys/")


@login_required
@require_POST
def authentication_options(request: HttpRequest) -> HttpResponse:
    if not keys_of(request.user).exists():
        return JsonResponse({"error": _("You have no security key.")}, status=400)
    return HttpResponse(webauthn.authentication_options(request), content_type="application/json")


@login_required
@require_POST
def authenticate(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    if body is None or not isinstance(body.get("credential"), dict):
        return JsonResponse({"error": _("The request is not valid.")}, status=400)
    if not webauthn.verify_key(request, body["credential"]):
        return JsonResponse({"error": _("The security key was not accepted.")}, status=403)
    complete_login(request)
    return JsonResponse({"ok": True, "next": next_url(request)})
