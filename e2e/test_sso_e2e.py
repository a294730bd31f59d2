"""Single sign-on in a real browser: Chromium goes from our login page to the identity
provider (panva/oidc-provider in Node.js), logs in there with a SITHS-level login, and
comes back logged in as an operator, with no password or code asked by Nattillsyn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Membership, Role
from audit.models import AuditAction, AuditEntry
from nattillsyn.testing import make_municipality
from sso.actions import save_provider
from sso.models import ClaimMapping, ExternalIdentity, IdentityProvider
from sso.testing import RunningIdentityProvider, running_identity_provider

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def idp(live_server: Any) -> Iterator[RunningIdentityProvider]:
    with running_identity_provider([f"{live_server.url}/sso/kommun/callback"]) as provider:
        yield provider


def test_an_operator_logs_in_with_the_municipalitys_identity_provider(
    browser: Any, live_server: Any, idp: RunningIdentityProvider
) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    provider = save_provider(
        IdentityProvider(slug="kommun", name="Nattby-IdP", issuer=idp.issuer, client_id=idp.client_id),
        actor=None,
        client_secret=idp.client_secret,
    )
    ClaimMapping.objects.create(provider=provider, group="nattillsyn-operator", tenant=home.tenant, role=Role.OPERATOR)
    context = browser.new_context(locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(live_server.url + "/console/")
        page.wait_for_url("**/login/**")
        page.click("[data-testid=sso-kommun]")
        page.wait_for_url(idp.issuer + "/interaction/**")
        page.fill("input[name=login]", "anna")
        page.fill("input[name=password]", "anna-idp-pw")
        page.click("button[value=login]")
        page.wait_for_url("**/console/**")
        assert page.locator("[data-testid=check-list], [data-testid=no-checks]").count() == 1
        user = ExternalIdentity.objects.get(provider=provider, subject="anna").user
        assert list(Membership.objects.filter(user=user).values_list("role", flat=True)) == ["operator"]
        login = AuditEntry.objects.get(action=AuditAction.LOGIN, actor=user)
        assert login.detail["second_factor"] == "identity_provider"
        # Logging out here goes on to log out at the provider (RP-initiated logout),
        # whose page asks to confirm; then back to our login page.
        page.click("[data-testid=logout]")
        page.wait_for_url(idp.issuer + "/session/end**")
        page.click("button[value=yes]")
        page.wait_for_url("**/login/**")
        assert AuditEntry.objects.filter(action=AuditAction.LOGOUT, actor=user).count() == 1
    finally:
        context.close()
