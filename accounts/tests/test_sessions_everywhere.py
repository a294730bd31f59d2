"""Log out everywhere: every session of the user ends at its next request."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.test_login import code_at, password_step
from audit.models import AuditAction, AuditEntry
from nattillsyn.clock import FakeClock
from nattillsyn.testing import Municipality

pytestmark = pytest.mark.django_db


def logged_in(username: str, fake_clock: FakeClock) -> Client:
    """A browser through both login steps (the clock moves on: a code works once)."""
    fake_clock.advance(seconds=30)
    client = Client()
    password_step(client, username)
    assert client.post("/mfa/", {"code": code_at(fake_clock)}).status_code == 302
    assert not client.get("/")["Location"].startswith(("/login/", "/mfa/"))
    return client


def test_a_user_logs_out_everywhere_and_every_browser_is_out(home: Municipality, fake_clock: FakeClock) -> None:
    phone, desk = logged_in("nattby-operator", fake_clock), logged_in("nattby-operator", fake_clock)
    fake_clock.advance(seconds=5)
    response = desk.post("/sessions/end-all")
    assert response.status_code == 200 and 'data-testid="logged-out-everywhere"' in response.content.decode()
    assert desk.get("/console/")["Location"].startswith("/login/")
    left = phone.get("/console/")
    assert left.status_code == 302 and left["Location"].startswith("/login/?expired=everywhere")
    assert phone.get("/console/", HTTP_HX_REQUEST="true").status_code in (302, 401)
    operator = home.user(Role.OPERATOR)
    ended = AuditEntry.objects.get(action=AuditAction.SESSIONS_ENDED)
    assert ended.actor == operator and ended.detail["by"] == "self"
    expired = AuditEntry.objects.filter(action=AuditAction.SESSION_EXPIRED, detail__reason="ended_everywhere")
    assert expired.count() == 1  # the phone's; the desk logged out there and then
    # A new login afterwards works as ever.
    assert logged_in("nattby-operator", fake_clock).get("/console/").status_code == 200


def test_it_needs_a_full_login_and_a_post(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    password_step(client, "nattby-operator")  # password only
    assert client.post("/sessions/end-all")["Location"].startswith("/mfa/")
    assert not AuditEntry.objects.filter(action=AuditAction.SESSIONS_ENDED).exists()
    full = logged_in("nattby-operator", fake_clock)
    assert full.get("/sessions/end-all").status_code == 405


def test_an_administrator_logs_a_user_out_everywhere(
    home: Municipality, outsider: Municipality, fake_clock: FakeClock
) -> None:
    operator_browser = logged_in("nattby-operator", fake_clock)
    operator = home.user(Role.OPERATOR)
    # Another municipality's administrator cannot.
    stranger = logged_in("grannby-administrator", fake_clock)
    url = f"/municipalities/{home.tenant.id}/users/{operator.id}/end-sessions"
    assert stranger.post(url).status_code == 404
    assert stranger.post(f"/municipalities/{outsider.tenant.id}/users/{operator.id}/end-sessions").status_code == 404
    assert operator_browser.get("/console/").status_code == 200
    admin = logged_in("nattby-administrator", fake_clock)
    fake_clock.advance(seconds=1)
    assert admin.post(url)["Location"] == f"/municipalities/{home.tenant.id}/users/{operator.id}/"
    assert operator_browser.get("/console/")["Location"].startswith("/login/?expired=everywhere")
    assert admin.get(f"/municipalities/{home.tenant.id}/users/").status_code == 200  # the admin is still in
    ended = AuditEntry.objects.get(action=AuditAction.SESSIONS_ENDED)
    assert ended.actor == home.user(Role.ADMINISTRATOR) and ended.tenant == home.tenant
    assert ended.detail == {"user": "nattby-operator", "by": "administrator"}
