"""A security key in a real browser: Chromium's virtual authenticator (the DevTools
WebAuthn domain) registers a key, and the next login uses it instead of a code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from accounts.models import Role, WebAuthnCredential
from audit.models import AuditAction, AuditEntry
from nattillsyn import clock
from nattillsyn.testing import TEST_TOTP_SECRET, make_municipality

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "nattillsyn-test-password"


@pytest.fixture
def page_with_authenticator(browser: Any, live_server: Any) -> Iterator[tuple[Any, str]]:
    # A host name, not 127.0.0.1: a WebAuthn relying party id cannot be an IP address.
    url = live_server.url.replace("127.0.0.1", "localhost")
    context = browser.new_context(locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    yield page, url
    context.close()


def log_in_with_password(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/mfa/**")


def test_an_operator_registers_a_security_key_and_logs_in_with_it(page_with_authenticator: tuple[Any, str]) -> None:
    page, url = page_with_authenticator
    home = make_municipality("Nattby kommun", "nattby")
    operator = home.user(Role.OPERATOR)

    log_in_with_password(page, url, operator.get_username())
    page.fill("input[name=code]", pyotp.TOTP(TEST_TOTP_SECRET).at(clock.now()))
    page.click("[data-testid=verify-code]")
    page.wait_for_url("**/console/**")
    page.goto(url + "/mfa/keys/")
    page.fill("[data-webauthn-name]", "Nyckelring")
    page.click("[data-testid=register-key]")
    page.wait_for_selector("[data-testid=security-key]")
    key = WebAuthnCredential.objects.get(user=operator)
    assert key.name == "Nyckelring"

    page.click("[data-testid=logout]")
    page.wait_for_url("**/login/**")
    log_in_with_password(page, url, operator.get_username())
    page.click("[data-testid=use-key]")  # no code typed
    page.wait_for_url("**/console/**")
    assert page.locator("[data-testid=check-list], [data-testid=no-checks]").count() == 1
    key.refresh_from_db()
    assert key.last_used_at is not None and key.sign_count >= 1
    verified = AuditEntry.objects.filter(action=AuditAction.SECOND_FACTOR_VERIFIED, actor=operator)
    assert verified.filter(detail__kind="webauthn").count() == 1
