"""The one way views get a person, and what belongs to a person: only within the user's
tenants and roles."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model
from django.http import HttpRequest

from accounts.access import not_found, require_role
from people.models import Consent, CoResident, CoResidentConsent, Person

M = TypeVar("M", bound=Model)


def _get_in_users_tenants(
    request: HttpRequest, model: type[M], object_id: Any, roles: tuple[str, ...], tenant: str, *related: str
) -> M:
    """The ``model`` row ``object_id`` if ``tenant`` (the lookup path to its tenant's id)
    is one where the user has one of ``roles``; refused (audited) or not found otherwise."""
    kind = model.__name__
    tenant_ids = require_role(request.user, *roles, kind=kind, object_id=object_id)
    rows = model._default_manager.select_related(*related)
    found = rows.filter(id=object_id, **{f"{tenant}__in": tenant_ids}).first()
    if found is None:
        raise not_found(kind, object_id, model._default_manager.filter(id=object_id))
    return found


def get_person_for_user(request: HttpRequest, person_id: int, *roles: str) -> Person:
    return _get_in_users_tenants(request, Person, person_id, roles, "tenant_id", "tenant")


def get_consent_for_user(request: HttpRequest, consent_id: int, *roles: str) -> Consent:
    return _get_in_users_tenants(request, Consent, consent_id, roles, "person__tenant_id", "person")


def get_co_resident_for_user(request: HttpRequest, co_resident_id: int, *roles: str) -> CoResident:
    return _get_in_users_tenants(request, CoResident, co_resident_id, roles, "person__tenant_id", "person__tenant")


def get_co_resident_consent_for_user(request: HttpRequest, consent_id: int, *roles: str) -> CoResidentConsent:
    return _get_in_users_tenants(
        request, CoResidentConsent, consent_id, roles, "co_resident__person__tenant_id", "co_resident__person"
    )
