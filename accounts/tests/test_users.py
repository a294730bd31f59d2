from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Membership, Role
from audit.models import AuditAction, AuditEntry
from nattillsyn.testing import Municipality

pytestmark = pytest.mark.django_db


def test_an_administrator_creates_a_user_with_roles_in_their_municipality(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.ADMINISTRATOR))
    response = client.post(
        f"/municipalities/{home.tenant.id}/users/",
        {"username": "ny-operator", "password": "en-lang-och-svar-fras-42", "roles": ["operator", "patrol"]},
    )
    assert response.status_code == 302
    assert sorted(Membership.objects.filter(user__username="ny-operator").values_list("role", flat=True)) == [
        "operator",
        "patrol",
    ]
    assert AuditEntry.objects.filter(action=AuditAction.USER_CHANGED, tenant=home.tenant).exists()


def test_a_weak_password_and_a_taken_name_are_refused(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.ADMINISTRATOR))
    page = client.post(
        f"/municipalities/{home.tenant.id}/users/", {"username": "x-user", "password": "123", "roles": ["operator"]}
    ).content.decode()
    assert 'data-testid="field-error-password"' in page
    page = client.post(
        f"/municipalities/{home.tenant.id}/users/",
        {"username": "nattby-operator", "password": "en-lang-och-svar-fras-42", "roles": ["operator"]},
    ).content.decode()
    assert 'data-testid="field-error-username"' in page


def test_an_administrator_cannot_manage_another_municipality(
    client: Client, home: Municipality, outsider: Municipality
) -> None:
    client.force_login(home.user(Role.ADMINISTRATOR))
    assert client.get(f"/municipalities/{outsider.tenant.id}/users/").status_code == 404
    assert (
        client.post(
            f"/municipalities/{home.tenant.id}/users/{outsider.user(Role.OPERATOR).id}/", {"roles": ["administrator"]}
        ).status_code
        == 404
    )
    assert not Membership.objects.filter(user=outsider.user(Role.OPERATOR), role="administrator").exists()


def test_other_roles_cannot_manage_users(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.SHIFT_LEAD))
    assert client.get(f"/municipalities/{home.tenant.id}/users/").status_code == 403
