"""Security keys on the server side: what is refused. The whole ceremony with a real
(virtual) authenticator in Chromium is e2e/test_webauthn_e2e.py."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.models import Role, WebAuthnCredential
from accounts.second_factor import SESSION_KEY
from audit.models import AuditAction, AuditEntry
from nattillsyn import clock
from nattillsyn.testing import Municipality

pytestmark = pytest.mark.django_db


def post_json(client: Client, url: str, body: dict) -> object:  # type: ignore[type-arg]
    return client.post(url, data=json.dumps(body), content_type="application/json")


def password_only(home: Municipality, role: str = Role.OPERATOR) -> Client:
    """Logged in with the password, the second step still to come."""
    client = Client()
    client.force_login(home.user(role))
    return client


def test_keys_are_managed_only_after_a_full_login(home: Municipality) -> None:
    client = password_only(home)
    assert client.get("/mfa/keys/").status_code == 302
    assert client.post("/mfa/keys/options").status_code == 403
    assert post_json(client, "/mfa/keys/register", {"credential": {}}).status_code == 403


def test_registration_options_carry_a_fresh_challenge(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.OPERATOR))
    first = client.post("/mfa/keys/options").json()
    second = client.post("/mfa/keys/options").json()
    assert first["rp"]["id"] == "testserver" and first["challenge"] != second["challenge"]


def test_a_forged_registration_is_refused_and_audited(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.OPERATOR))
    client.post("/mfa/keys/options")
    forged = {
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {"clientDataJSON": "e30", "attestationObject": "oA"},
    }
    response = post_json(client, "/mfa/keys/register", {"credential": forged, "name": "Falsk"})
    assert response.status_code == 400 and not WebAuthnCredential.objects.exists()
    assert AuditEntry.objects.filter(action=AuditAction.SECOND_FACTOR_FAILED, detail__kind="webauthn_register").exists()
    # The challenge was spent on the failed try: a second answer to it is refused too.
    assert post_json(client, "/mfa/keys/register", {"credential": forged}).status_code == 400


def another_users_key(home: Municipality) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=home.user(Role.PLANNER),
        name="Planerarens",
        credential_id="cGxhbm5lcg",
        public_key=b"x",
        created_at=clock.now(),
    )


def test_a_key_of_another_user_does_not_log_in(home: Municipality) -> None:
    key = another_users_key(home)
    WebAuthnCredential.objects.create(
        user=home.user(Role.OPERATOR), name="Min", credential_id="bWluYQ", public_key=b"y", created_at=clock.now()
    )
    client = password_only(home)
    assert client.post("/mfa/key/options").status_code == 200
    assertion = {"id": key.credential_id, "rawId": key.credential_id, "type": "public-key", "response": {}}
    response = post_json(client, "/mfa/key/verify", {"credential": assertion})
    assert response.status_code == 403 and SESSION_KEY not in client.session
    assert client.get("/console/").status_code == 302  # still only half logged in
    failed = AuditEntry.objects.get(action=AuditAction.SECOND_FACTOR_FAILED)
    assert failed.actor == home.user(Role.OPERATOR) and failed.detail["problem"] == "not_the_users_key"


def test_an_assertion_without_a_challenge_is_refused(home: Municipality) -> None:
    WebAuthnCredential.objects.create(
        user=home.user(Role.OPERATOR), name="Min", credential_id="bWluYQ", public_key=b"y", created_at=clock.now()
    )
    client = password_only(home)
    response = post_json(client, "/mfa/key/verify", {"credential": {"id": "bWluYQ", "response": {}}})
    assert response.status_code == 403 and SESSION_KEY not in client.session
    assert AuditEntry.objects.get(action=AuditAction.SECOND_FACTOR_FAILED).detail["problem"] == "no_challenge"


def test_nobody_removes_another_users_key(client: Client, home: Municipality) -> None:
    key = another_users_key(home)
    client.force_login(home.user(Role.OPERATOR))
    assert client.post(f"/mfa/keys/{key.id}/remove").status_code == 404
    assert WebAuthnCredential.objects.filter(id=key.id).exists()


def test_bad_bodies_get_a_clear_error(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.OPERATOR))
    assert client.post("/mfa/keys/register", data="not json", content_type="application/json").status_code == 400
    assert post_json(client, "/mfa/keys/register", {"credential": "x"}).status_code == 400
