"""Session rules enforced on every request: second factor, idle timeout, absolute lifetime."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from accounts.models import SessionRevocation
from accounts.second_factor import SESSION_KEY, device_for
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from nattillsyn.net import client_ip

# Reachable before the second factor: logging in and out, the second factor itself,
# and endpoints with their own authentication.
OPEN_PREFIXES = ("/login/", "/logout/", "/mfa/", "/sso/", "/static/", "/health", "/internal/", "/i18n/")
# Automatic refreshes (htmx polling) are not the user being active.
POLL_HEADER = "X-Poll"
# What the login page is told (?expired=...) when the audit reason reads differently.
LOGIN_PAGE_NOTICE = {"ended_everywhere": "everywhere"}


class SessionSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not request.path.startswith(("/static/", "/internal/", "/health")):
            refusal = self.enforce(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def enforce(self, request: HttpRequest) -> HttpResponse | None:
        session = request.session
        now = clock.now().timestamp()
        login_at = session.setdefault("login_at", now)
        last_seen = session.get("last_seen", now)
        reason = self.why_over(request, now, login_at, last_seen)
        if reason is not None:
            record(
                actor=request.user,
                action=AuditAction.SESSION_EXPIRED,
                ip=client_ip(request),
                detail={"reason": reason},
            )
            logout(request)
            return self.to_login(request, LOGIN_PAGE_NOTICE.get(reason, reason))
        if not request.headers.get(POLL_HEADER):
            session["last_seen"] = now
        if not session.get(SESSION_KEY) and not request.path.startswith(OPEN_PREFIXES):
            device = device_for(request.user)
            target = "/mfa/" if device is not None and device.confirmed_at is not None else "/mfa/setup/"
            if request.headers.get("HX-Request"):
                return JsonResponse({"error": "second factor required"}, status=401)
            return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return None

    @staticmethod
    def why_over(request: HttpRequest, now: float, login_at: float, last_seen: float) -> str | None:
        """Why this session is over ("lifetime", "idle", "ended_everywhere"), or None."""
        if now - login_at > settings.SESSION_COOKIE_AGE:
            return "lifetime"
        if now - last_seen > settings.SESSION_IDLE_TIMEOUT_S:
            return "idle"
        # Did the user log out everywhere after this session began?
        ended_at = (
            SessionRevocation.objects.filter(user_id=request.user.pk or 0).values_list("ended_at", flat=True).first()
        )
        if ended_at is not None and login_at < ended_at.timestamp():
            return "ended_everywhere"
        return None

    @staticmethod
    def to_login(request: HttpRequest, reason: str) -> HttpResponse:
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=401)
            response["HX-Redirect"] = f"/login/?expired={reason}"
            return response
        return HttpResponseRedirect(f"/login/?{urlencode({'expired': reason, 'next': request.get_full_path()})}")
