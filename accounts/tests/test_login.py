"""Logging in: password and a second factor, every time; throttling; session limits."""

from __future__ import annotations

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Membership, Role, TotpDevice
from audit.models import AuditAction, AuditEntry
from nattillsyn.clock import FakeClock
from nattillsyn.testing import PASSWORD, TEST_TOTP_SECRET, Municipality

pytestmark = pytest.mark.django_db


def code_at(fake_clock: FakeClock, secret: str = TEST_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).at(fake_clock())


def password_step(client: Client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/login/", {"username": username, "password": password})


def test_a_password_alone_opens_nothing(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    assert password_step(client, "nattby-operator").status_code == 302
    for path in ("/console/", "/people/", "/audit/", "/console/patrol/", "/municipalities/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/mfa/?next=")
    assert client.get("/console/", HTTP_HX_REQUEST="true").status_code == 401


def test_the_code_completes_the_login_once(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    password_step(client, "nattby-operator")
    response = client.post("/mfa/", {"code": code_at(fake_clock), "next": "/console/"})
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.SECOND_FACTOR_VERIFIED).count() == 1
    # The same code cannot be used again, even in a new session.
    other = Client()
    password_step(other, "nattby-operator")
    page = other.post("/mfa/", {"code": code_at(fake_clock)}).content.decode()
    assert 'data-testid="field-error-code"' in page
    assert other.get("/console/").status_code == 302


def test_an_offsite_next_is_ignored(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    password_step(client, "nattby-operator")
    response = client.post("/mfa/", {"code": code_at(fake_clock), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_five_wrong_codes_log_the_user_out(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    password_step(client, "nattby-operator")
    for _ in range(5):
        client.post("/mfa/", {"code": "000000"})
    assert client.get("/mfa/").status_code == 302  # logged out: back to the login page
    assert AuditEntry.objects.filter(action=AuditAction.SECOND_FACTOR_FAILED).count() == 5


def test_repeated_wrong_passwords_lock_the_name(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    for _ in range(5):
        assert password_step(client, "nattby-operator", "fel-lösenord").status_code == 200
    locked = password_step(client, "nattby-operator")  # the right password, but locked
    assert locked.status_code == 200 and 'data-testid="login-error"' in locked.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_LOCKED).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 5
    fake_clock.advance(minutes=16)
    assert password_step(client, "nattby-operator").status_code == 302


def test_an_idle_session_ends_but_polling_does_not_keep_it_alive(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    password_step(client, "nattby-operator")
    client.post("/mfa/", {"code": code_at(fake_clock)})
    assert client.get("/console/").status_code == 200
    for _ in range(3):
        fake_clock.advance(minutes=4)
        assert client.get("/console/", HTTP_HX_REQUEST="true", HTTP_X_POLL="1").status_code == 200
    fake_clock.advance(minutes=4)  # 16 minutes since the operator last did anything
    response = client.get("/console/")
    assert response.status_code == 302 and "expired=idle" in response["Location"]
    assert AuditEntry.objects.filter(action=AuditAction.SESSION_EXPIRED).count() == 1


def test_a_session_ends_after_twelve_hours_however_busy(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    password_step(client, "nattby-operator")
    client.post("/mfa/", {"code": code_at(fake_clock)})
    for _ in range(12 * 6 + 1):
        fake_clock.advance(minutes=10)
        response = client.get("/console/")
    assert response.status_code == 302 and "expired=lifetime" in response["Location"]


def test_a_new_user_registers_an_authenticator_app_first(home: Municipality, fake_clock: FakeClock) -> None:
    user = get_user_model().objects.create_user("ny", password=PASSWORD)
    Membership.objects.create(user=user, tenant=home.tenant, role=Role.OPERATOR)
    client = Client()
    password_step(client, "ny")
    assert client.get("/console/")["Location"].startswith("/mfa/setup/")
    assert client.get("/mfa/")["Location"].startswith("/mfa/setup/")
    page = client.get("/mfa/setup/").content.decode()
    assert "<svg" in page
    device = TotpDevice.objects.get(user=user)
    from accounts.second_factor import secret_of

    secret = secret_of(device)
    assert secret in page
    assert client.post("/mfa/setup/", {"code": "123456"}).status_code == 200
    assert client.post("/mfa/setup/", {"code": code_at(fake_clock, secret)}).status_code == 302
    assert client.get("/console/").status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.SECOND_FACTOR_ENROLLED, actor=user).exists()
