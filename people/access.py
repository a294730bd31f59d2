"""The one way views get a person: only within the user's tenants and roles."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.access import not_found, require_role
from people.models import Consent, Person


def get_person_for_user(request: HttpRequest, person_id: int, *roles: str) -> Person:
    tenant_ids = require_role(request.user, *roles, kind="Person", object_id=person_id)
    person = Person.objects.select_related("tenant").filter(id=person_id, tenant_id__in=tenant_ids).first()
    if person is None:
        raise not_found("Person", person_id, Person.objects.filter(id=person_id))
    return person


def get_consent_for_user(request: HttpRequest, consent_id: int, *roles: str) -> Consent:
    tenant_ids = require_role(request.user, *roles, kind="Consent", object_id=consent_id)
    consent = Consent.objects.select_related("person").filter(id=consent_id, person__tenant_id__in=tenant_ids).first()
    if consent is None:
        raise not_found("Consent", consent_id, Consent.objects.filter(id=consent_id))
    return consent
