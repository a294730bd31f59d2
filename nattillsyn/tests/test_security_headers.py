"""Security headers on every page: a strict CSP, no framing, no camera or microphone for
the page itself, care pages never cached, and no inline script or style anywhere."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import Role
from nattillsyn.testing import Municipality

pytestmark = pytest.mark.django_db


def test_the_login_page_has_the_strict_headers(client: Client) -> None:
    response = Client().get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "microphone=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (Role.OPERATOR, "/console/"),
        (Role.PLANNER, "/people/"),
        (Role.AUDITOR, "/audit/"),
        (Role.SHIFT_LEAD, "/reports/tonight/"),
    ],
)
def test_care_pages_are_never_cached_and_carry_no_inline_code(
    client: Client, home: Municipality, role: str, path: str
) -> None:
    client.force_login(home.user(role))
    response = client.get(path)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script>"
    assert "<style" not in page and not re.search(r"\son[a-z]+=", page) and " style=" not in page
