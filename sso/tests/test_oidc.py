"""Single sign-on against a real OpenID Connect provider (panva/oidc-provider, in Node.js).

Every test goes the whole way: our login page → the provider's authorization endpoint
→ its login form → back to our callback with a code → Authlib exchanges the code and
checks the ID token's signature, issuer, audience and nonce against the provider's
real keys → our mappings decide the roles. Nothing of the protocol is mocked.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from accounts.models import Membership, Role
from audit.models import AuditAction, AuditEntry
from nattillsyn.testing import Municipality
from sso import oidc
from sso.actions import save_provider
from sso.models import ClaimMapping, ExternalIdentity, IdentityProvider
from sso.testing import RunningIdentityProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(idp: RunningIdentityProvider, home: Municipality, outsider: Municipality) -> IdentityProvider:
    configured = save_provider(
        IdentityProvider(
            slug="kommun",
            name="Nattby kommuns IdP",
            issuer=idp.issuer,
            client_id=idp.client_id,
            scopes="openid profile",
            tenant_claim="municipality",
        ),
        actor=None,
        client_secret=idp.client_secret,
    )
    for group, municipality, tenant, role in [
        ("nattillsyn-operator", "", home.tenant, Role.OPERATOR),
        ("nattillsyn-auditor", "", home.tenant, Role.AUDITOR),
        # An alarm centre's operators: which municipality decides the tenant.
        ("larmcentral-operator", "0180", home.tenant, Role.OPERATOR),
        ("larmcentral-operator", "1280", outsider.tenant, Role.OPERATOR),
    ]:
        ClaimMapping.objects.create(
            provider=configured, group=group, tenant_claim_value=municipality, tenant=tenant, role=role
        )
    return configured


def sso_login(
    client: Client,
    idp: RunningIdentityProvider,
    username: str,
    *,
    next_url: str = "",
    cancel: bool = False,
    browser=None,
):  # type: ignore[no-untyped-def]
    """Click "Log in with …", log in at the provider, come back. Returns our answer."""
    start = client.get("/sso/kommun/" + (f"?{urlencode({'next': next_url})}" if next_url else ""))
    assert start.status_code == 302 and start["Location"].startswith(idp.issuer + "/auth?"), start
    query = parse_qs(urlsplit(start["Location"]).query)
    # The request carries state, nonce and a PKCE challenge (S256).
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = idp.log_in(start["Location"], username, f"{username}-idp-pw", cancel=cancel, browser=browser)
    assert back.startswith("http://testserver/sso/kommun/callback?")
    return client.get(back.removeprefix("http://testserver")), back


def fully_logged_in(client: Client) -> bool:
    """Past both factors: the console answers rather than sending to /mfa/ or /login/."""
    response = client.get("/console/")
    return response.status_code == 200


def test_staff_log_in_with_their_identity_provider_and_get_the_mapped_role(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider, home: Municipality
) -> None:
    response, _back = sso_login(client, idp, "anna", next_url="/console/")
    assert response.status_code == 302 and response["Location"] == "/console/"
    identity = ExternalIdentity.objects.get(provider=provider, subject="anna")
    user = identity.user
    assert user.username == "kommun.anna" and user.first_name == "Anna" and not user.has_usable_password()
    assert set(Membership.objects.filter(user=user).values_list("tenant", "role")) == {(home.tenant.id, "operator")}
    # SITHS (LoA3) is two factors: the login is complete without a code here.
    assert fully_logged_in(client)
    login = AuditEntry.objects.filter(action=AuditAction.LOGIN, actor=user).get()
    assert login.detail["method"] == "oidc" and login.detail["provider"] == "kommun"
    assert login.detail["acr"].endswith("loa3") and login.detail["second_factor"] == "identity_provider"
    assert AuditEntry.objects.filter(action=AuditAction.USER_CHANGED, detail__source="kommun").count() == 1


def test_the_same_person_comes_back_as_the_same_user(idp: RunningIdentityProvider, provider: IdentityProvider) -> None:
    for _ in range(2):
        client = Client()
        sso_login(client, idp, "anna")
        assert fully_logged_in(client)
    assert ExternalIdentity.objects.filter(subject="anna").count() == 1
    # Roles unchanged at the second login: no second role change in the log.
    assert AuditEntry.objects.filter(action=AuditAction.USER_CHANGED, detail__source="kommun").count() == 1


def test_roles_follow_the_groups_and_a_removed_mapping_takes_the_role_away(
    idp: RunningIdentityProvider, provider: IdentityProvider, home: Municipality
) -> None:
    sso_login(Client(), idp, "bertil")
    user = ExternalIdentity.objects.get(subject="bertil").user
    assert set(Membership.objects.filter(user=user).values_list("role", flat=True)) == {"operator", "auditor"}
    ClaimMapping.objects.filter(provider=provider, group="nattillsyn-auditor").delete()
    client = Client()
    sso_login(client, idp, "bertil")
    assert set(Membership.objects.filter(user=user).values_list("role", flat=True)) == {"operator"}
    # With no mapping left, the next login is refused and the last role goes too.
    ClaimMapping.objects.filter(provider=provider).delete()
    client = Client()
    response, _ = sso_login(client, idp, "bertil")
    assert response["Location"] == "/login/" and not Membership.objects.filter(user=user).exists()
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, detail__reason="no_role").count() == 1
    assert not fully_logged_in(client)


def test_a_login_without_a_second_factor_at_the_provider_is_refused(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    response, _ = sso_login(client, idp, "cecilia")  # LoA2, a password only
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not ExternalIdentity.objects.filter(subject="cecilia").exists()
    assert not fully_logged_in(client)
    failure = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failure.detail["reason"] == "no_second_factor" and failure.detail["acr"].endswith("loa2")
    assert "ingen andra faktor" in client.get("/login/").content.decode()  # the message, in Swedish


def test_or_asks_for_our_own_second_factor_when_the_provider_is_set_so(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    provider.ask_own_second_factor = True
    provider.save()
    response, _ = sso_login(client, idp, "cecilia", next_url="/console/")
    assert response["Location"] == "/console/"
    then = client.get("/console/")
    assert then.status_code == 302 and then["Location"].startswith("/mfa/setup/")
    login = AuditEntry.objects.get(action=AuditAction.LOGIN)
    assert login.detail["second_factor"] == "required_here"


def test_a_group_unknown_here_gives_no_account(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    response, _ = sso_login(client, idp, "david")
    assert response["Location"] == "/login/"
    assert not ExternalIdentity.objects.exists()
    assert "ingen roll i Nattillsyn" in client.get("/login/").content.decode()  # Swedish by default


def test_an_alarm_centre_operator_gets_the_municipality_their_claim_names_only(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider, outsider: Municipality
) -> None:
    sso_login(client, idp, "larm")  # amr says mfa; municipality 1280
    user = ExternalIdentity.objects.get(subject="larm").user
    assert list(Membership.objects.filter(user=user).values_list("tenant", "role")) == [
        (outsider.tenant.id, "operator")
    ]
    assert fully_logged_in(client)


def test_a_local_account_with_the_same_name_is_never_taken_over(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider, home: Municipality
) -> None:
    from django.contrib.auth import get_user_model

    local = get_user_model().objects.create_user(username="anna", password="local-password-123")
    Membership.objects.create(user=local, tenant=home.tenant, role=Role.ADMINISTRATOR)
    sso_login(client, idp, "anna")
    user = ExternalIdentity.objects.get(subject="anna").user
    assert user != local and user.username == "kommun.anna"
    assert list(Membership.objects.filter(user=local).values_list("role", flat=True)) == ["administrator"]


def test_the_user_cancelling_at_the_provider_is_a_failed_login(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    response, back = sso_login(client, idp, "anna", cancel=True)
    assert "error=access_denied" in back and response["Location"] == "/login/"
    failure = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failure.detail == {"provider": "kommun", "reason": "provider_refused", "error": "access_denied"}
    assert not fully_logged_in(client)


def test_a_callback_is_used_once_and_only_in_the_browser_that_started_it(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    response, back = sso_login(client, idp, "anna")
    assert fully_logged_in(client)
    # Replayed in the same browser: the state was used up.
    client.logout()
    again = client.get(back.removeprefix("http://testserver"))
    assert again["Location"] == "/login/" and not fully_logged_in(client)
    # Fed to another browser (login CSRF, a stolen code): no state there.
    stranger = Client()
    assert stranger.get(back.removeprefix("http://testserver"))["Location"] == "/login/"
    assert not fully_logged_in(stranger)
    reasons = list(AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).values_list("detail", flat=True))
    assert [r["reason"] for r in reasons] == ["invalid_response", "invalid_response"]


def test_a_forged_code_gets_nowhere(client: Client, idp: RunningIdentityProvider, provider: IdentityProvider) -> None:
    start = client.get("/sso/kommun/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = client.get(f"/sso/kommun/callback?code=forged&state={state}")
    assert response["Location"] == "/login/" and not fully_logged_in(client)
    assert AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED).detail["error"] == "OAuthError"


def test_a_provider_that_names_another_issuer_is_not_trusted(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    # The same server under another name: its discovery document says 127.0.0.1.
    provider.issuer = idp.issuer.replace("127.0.0.1", "localhost")
    provider.save()
    response = client.get("/sso/kommun/")
    assert response["Location"] == "/login/"
    assert "går inte att nå" in client.get("/login/").content.decode()


def test_an_unreachable_provider_gives_a_clear_message(client: Client, provider: IdentityProvider) -> None:
    from sso.testing import free_port

    provider.issuer = f"http://127.0.0.1:{free_port()}"
    provider.save()
    response = client.get("/sso/kommun/")
    assert response["Location"] == "/login/"
    assert "går inte att nå just nu" in client.get("/login/").content.decode()


def test_no_open_redirect_after_login(client: Client, idp: RunningIdentityProvider, provider: IdentityProvider) -> None:
    response, _ = sso_login(client, idp, "anna", next_url="https://evil.example/")
    assert response["Location"] == "/"


def test_disabled_and_unknown_providers_are_not_found(client: Client, provider: IdentityProvider) -> None:
    assert client.get("/sso/nobody/").status_code == 404
    provider.enabled = False
    provider.save()
    assert client.get("/sso/kommun/").status_code == 404
    assert client.get("/sso/kommun/callback?code=x&state=y").status_code == 404


def test_the_login_page_offers_the_providers(client: Client, provider: IdentityProvider) -> None:
    page = client.get("/login/").content.decode()
    assert 'href="/sso/kommun/"' in page and "Nattby kommuns IdP" in page


def test_a_user_from_the_provider_cannot_log_in_with_a_password(
    client: Client, idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    sso_login(Client(), idp, "anna")
    response = client.post("/login/", {"username": "kommun.anna", "password": ""})
    assert response.status_code == 200 and not fully_logged_in(client)


def test_the_client_secret_is_stored_encrypted(provider: IdentityProvider, idp: RunningIdentityProvider) -> None:
    assert idp.client_secret not in provider.client_secret_encrypted
    assert oidc.client_for(provider).client_secret == idp.client_secret
    change = AuditEntry.objects.get(action=AuditAction.IDENTITY_PROVIDER_CHANGED)
    assert change.detail["secret_changed"] is True and idp.client_secret not in str(change.detail)


def test_every_login_asks_the_provider_again_on_a_shared_computer(
    idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    """The night office's computer: Anna logged in at the provider earlier; the next
    person clicking "log in with" must not come in as Anna."""
    import requests

    shared_browser = requests.Session()
    sso_login(Client(), idp, "anna", browser=shared_browser)
    start = Client().get("/sso/kommun/")
    assert parse_qs(urlsplit(start["Location"]).query)["prompt"] == ["login"]
    response, _ = sso_login(Client(), idp, "bertil", browser=shared_browser)
    assert idp.last_form_seen  # the provider asked again, despite Anna's session there
    assert ExternalIdentity.objects.filter(subject="bertil").exists()


def test_without_reauthentication_the_providers_session_logs_in_silently(
    idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    import requests

    provider.reauthenticate = False
    provider.save()
    shared_browser = requests.Session()
    sso_login(Client(), idp, "anna", browser=shared_browser)
    client = Client()
    start = client.get("/sso/kommun/")
    assert "prompt" not in parse_qs(urlsplit(start["Location"]).query)
    back = idp.log_in(start["Location"], "nobody", "wrong", browser=shared_browser)
    assert not idp.last_form_seen  # single sign-on: no form, Anna's session was enough
    client.get(back.removeprefix("http://testserver"))
    assert fully_logged_in(client)


def test_a_login_at_the_provider_older_than_our_request_is_refused(provider: IdentityProvider) -> None:
    """A provider that ignores prompt=login: its auth_time gives it away."""
    import time

    from sso.actions import sign_in

    asked = time.time()
    claims = {"sub": "anna", "roles": ["nattillsyn-operator"], "acr": provider.mfa_acr_values}
    assert sign_in(provider, {**claims, "auth_time": int(asked - 3600)}, ip=None, requested_at=asked).refusal == (
        "stale_login"
    )
    assert sign_in(provider, claims, ip=None, requested_at=asked).refusal == "stale_login"  # no auth_time
    assert sign_in(provider, {**claims, "auth_time": int(asked)}, ip=None, requested_at=asked).refusal is None
    assert ExternalIdentity.objects.filter(subject="anna").count() == 1


def test_logging_out_here_logs_out_at_the_provider_too(
    idp: RunningIdentityProvider, provider: IdentityProvider
) -> None:
    """RP-initiated logout: the next person at a shared computer does not find the
    previous user still logged in at the provider (even where silent SSO is allowed)."""
    import requests

    provider.reauthenticate = False
    provider.save()
    shared_browser = requests.Session()
    client = Client()
    sso_login(client, idp, "anna", browser=shared_browser)
    response = client.post("/logout/")
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="sso-logged-out"' in page
    link = re.search(r'href="([^"]*)" data-testid="sso-end-session"', page)
    assert link is not None
    end_session = html.unescape(link.group(1))
    assert end_session.startswith(idp.issuer + "/session/end?") and f"url={html.escape(end_session)}" in page
    query = parse_qs(urlsplit(end_session).query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login/"] and query["id_token_hint"]
    assert not fully_logged_in(client)
    assert AuditEntry.objects.filter(action=AuditAction.LOGOUT).count() == 1
    assert idp.log_out(end_session, shared_browser).startswith("http://testserver/login/")
    # The provider's session is gone: the next login there asks for a password again.
    sso_login(Client(), idp, "bertil", browser=shared_browser)
    assert idp.last_form_seen


def test_a_password_user_logs_out_here_only(client: Client, home: Municipality, provider: IdentityProvider) -> None:
    client.force_login(home.user(Role.OPERATOR))
    response = client.post("/logout/")
    assert response.status_code == 302 and not response["Location"].startswith("http://127.0.0.1:")
