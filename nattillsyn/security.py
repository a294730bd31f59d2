"""Security headers the framework does not add by itself."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def public_gateway_url() -> str:
    """Where browsers reach the gateway: behind the reverse proxy in production."""
    return str(settings.GATEWAY_PUBLIC_URL or settings.GATEWAY_URL)


def content_security_policy(gateway_url: str | None = None) -> str:
    """Only our own scripts and styles; media and WHEP signalling only to our gateway
    (``gateway_url``: the one a page's grant names, when there are several)."""
    gateway = urlsplit(gateway_url or public_gateway_url())
    gateway_origin = f"{gateway.scheme}://{gateway.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {gateway_origin}",
            "media-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", content_security_policy())
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.path.startswith(("/console/", "/people/", "/cameras/", "/audit/", "/municipalities/", "/reports/")):
            # Care data must not linger in shared browser caches.
            response.setdefault("Cache-Control", "no-store")
        return response
