"""The one way views get a person: only within the user's tenants and roles."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.access import not_found, require_role
from people.models import Consent, CoResident, CoResidentConsent, Person


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


def get_co_resident_for_user(request: HttpRequest, co_resident_id: int, *roles: str) -> CoResident:
    tenant_ids = require_role(request.user, *roles, kind="CoResident", object_id=co_resident_id)
    co_resident = (
        CoResident.objects.select_related("person__tenant")
        .filter(id=co_resident_id, person__tenant_id__in=tenant_ids)
        .first()
    )
    if co_resident is None:
        raise not_found("CoResident", co_resident_id, CoResident.objects.filter(id=co_resident_id))
    return co_resident


def get_co_resident_consent_for_user(request: HttpRequest, consent_id: int, *roles: str) -> CoResidentConsent:
    tenant_ids = require_role(request.user, *roles, kind="CoResidentConsent", object_id=consent_id)
    consent = (
        CoResidentConsent.objects.select_related("co_resident__person")
        .filter(id=consent_id, co_resident__person__tenant_id__in=tenant_ids)
        .first()
    )
    if consent is None:
        raise not_found("CoResidentConsent", consent_id, CoResidentConsent.objects.filter(id=consent_id))
    return consent
