"""The platform administrator sets up an identity provider in the admin; every change audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditAction, AuditEntry
from nattillsyn.testing import Municipality
from sso.models import ClaimMapping, IdentityProvider

pytestmark = pytest.mark.django_db


def provider_form(home: Municipality, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "slug": "kommun",
        "name": "Kommunens IdP",
        "issuer": "https://idp.nattby.example",
        "client_id": "nattillsyn",
        "client_secret": "hemlig-klientnyckel",
        "scopes": "openid profile",
        "roles_claim": "roles",
        "tenant_claim": "",
        "mfa_acr_values": "http://id.elegnamnden.se/loa/1.0/loa3",
        "enabled": "on",
        "mappings-TOTAL_FORMS": 1,
        "mappings-INITIAL_FORMS": 0,
        "mappings-MIN_NUM_FORMS": 0,
        "mappings-MAX_NUM_FORMS": 1000,
        "mappings-0-group": "nattillsyn-operator",
        "mappings-0-tenant_claim_value": "",
        "mappings-0-tenant": home.tenant.id,
        "mappings-0-role": "operator",
    }
    form.update(changes)
    return form


def test_an_identity_provider_is_added_with_its_mappings_and_audited(client: Client, home: Municipality) -> None:
    admin = get_user_model().objects.create_superuser("plattform", password="x")
    client.force_login(admin)
    response = client.post("/admin/sso/identityprovider/add/", provider_form(home))
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = IdentityProvider.objects.get(slug="kommun")
    assert provider.client_secret_encrypted and "hemlig" not in provider.client_secret_encrypted
    assert ClaimMapping.objects.get(provider=provider).role == "operator"
    changes = AuditEntry.objects.filter(action=AuditAction.IDENTITY_PROVIDER_CHANGED).order_by("id")
    assert [entry.actor for entry in changes] == [admin, admin]
    assert changes[1].detail["mappings"] == [f"nattillsyn-operator||{home.tenant.id}|operator"]
    assert "hemlig" not in str([entry.detail for entry in changes])
    # Saved again without a secret: the one stored is kept.
    stored = provider.client_secret_encrypted
    form = provider_form(home, client_secret="", **{"mappings-TOTAL_FORMS": 0})
    assert client.post(f"/admin/sso/identityprovider/{provider.id}/change/", form).status_code == 302
    assert IdentityProvider.objects.get(id=provider.id).client_secret_encrypted == stored


def test_a_bad_issuer_gets_a_clear_error(client: Client, home: Municipality) -> None:
    client.force_login(get_user_model().objects.create_superuser("plattform", password="x"))
    response = client.post("/admin/sso/identityprovider/add/", provider_form(home, issuer="inte en adress"))
    assert response.status_code == 200 and not IdentityProvider.objects.exists()
    assert 'id="id_issuer_error"' in response.content.decode()  # the error is shown at the field
