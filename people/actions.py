"""Every change to persons, decisions, consents and absences goes through here."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from people.models import Absence, Consent, CoResident, CoResidentConsent, Decision, Person

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ActionRefused(Exception):
    """A change that the rules do not allow; the message is shown to the user."""


@transaction.atomic
def save_person(person: Person | None, *, actor: User | None, tenant: Tenant, **fields: Any) -> Person:
    if person is None:
        person = Person(tenant=tenant)
    elif person.tenant_id != tenant.id:
        raise ActionRefused(_("The person belongs to another municipality."))
    for name, value in fields.items():
        setattr(person, name, value)
    person.save()
    record(
        actor=actor,
        action=AuditAction.PERSON_CHANGED,
        tenant=tenant,
        person=person,
        obj=person,
        detail={"fields": sorted(fields)},
    )
    return person


@transaction.atomic
def register_decision(
    person: Person,
    *,
    actor: User,
    decided_on: date,
    valid_from: date,
    valid_to: date | None,
    review_on: date | None,
    reference: str = "",
) -> Decision:
    if valid_to is not None and valid_to < valid_from:
        raise ActionRefused(_("The decision cannot end before it starts."))
    decision = Decision.objects.create(
        person=person,
        decided_on=decided_on,
        valid_from=valid_from,
        valid_to=valid_to,
        review_on=review_on,
        reference=reference,
        decided_by=actor,
    )
    record(
        actor=actor,
        action=AuditAction.DECISION_CHANGED,
        tenant=person.tenant_id,
        person=person,
        obj=decision,
        detail={"valid_from": str(valid_from), "valid_to": str(valid_to or "")},
    )
    _replan(person)
    if valid_to is not None:
        stop_camera_if_no_longer_allowed(person, reason="decision_ended")
    return decision


@transaction.atomic
def end_decision(decision: Decision, *, actor: User | None, valid_to: date) -> Decision:
    decision.valid_to = valid_to
    decision.save(update_fields=["valid_to"])
    record(
        actor=actor,
        action=AuditAction.DECISION_CHANGED,
        tenant=decision.person.tenant_id,
        person=decision.person_id,
        obj=decision,
        detail={"valid_to": str(valid_to)},
    )
    _replan(decision.person)
    stop_camera_if_no_longer_allowed(decision.person, reason="decision_ended")
    return decision


def _replan(person: Person) -> None:
    """A decision changes which nights have checks: have the worker plan this person again."""
    from checks.models import Agreement

    Agreement.objects.filter(person=person).update(updated_at=clock.now())


@transaction.atomic
def register_consent(
    person: Person, *, actor: User, given_by: str, method: str, given_at: datetime, valid_until: date | None
) -> Consent:
    consent = Consent.objects.create(
        person=person,
        given_by=given_by,
        method=method,
        given_at=given_at,
        valid_until=valid_until,
        documented_by=actor,
    )
    record(
        actor=actor,
        action=AuditAction.CONSENT_GIVEN,
        tenant=person.tenant_id,
        person=person,
        obj=consent,
        detail={"method": method, "given_by": given_by, "trial_until": str(valid_until) if valid_until else ""},
    )
    return consent


@transaction.atomic
def withdraw_consent(consent: Consent, *, actor: User | None, note: str = "") -> Consent:
    """From this instant no camera check can start, and a running view is stopped."""
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        raise ActionRefused(_("The consent is already withdrawn."))
    consent.withdrawn_at = clock.now()
    consent.withdrawn_by = actor
    consent.withdrawal_note = note
    consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_note"])
    record(
        actor=actor,
        action=AuditAction.CONSENT_WITHDRAWN,
        tenant=consent.person.tenant_id,
        person=consent.person_id,
        obj=consent,
        detail={"note": note},
    )
    stop_camera_if_no_longer_allowed(consent.person, reason="consent_withdrawn")
    return consent


@transaction.atomic
def add_co_resident(person: Person, *, actor: Any, name: str, personnummer: str) -> CoResident:
    """Someone lives in the home. Until they consent, no camera check can start: a view
    running now is stopped and tonight's remaining camera checks become visits."""
    co_resident = CoResident.objects.create(
        person=person, name=name, personnummer=personnummer, created_at=clock.now(), created_by=actor
    )
    record(
        actor=actor,
        action=AuditAction.CO_RESIDENT_CHANGED,
        tenant=person.tenant_id,
        person=person,
        obj=co_resident,
        detail={"name": name, "has_personnummer": bool(personnummer)},
    )
    _replan(person)
    stop_camera_if_no_longer_allowed(person, reason="co_resident_added")
    return co_resident


@transaction.atomic
def register_co_resident_consent(
    co_resident: CoResident, *, actor: Any, method: str, given_at: datetime
) -> CoResidentConsent:
    consent = CoResidentConsent.objects.create(
        co_resident=co_resident, method=method, given_at=given_at, documented_by=actor
    )
    record(
        actor=actor,
        action=AuditAction.CO_RESIDENT_CONSENT_GIVEN,
        tenant=co_resident.person.tenant_id,
        person=co_resident.person_id,
        obj=consent,
        detail={"co_resident": co_resident.name, "method": method, "given_at": given_at.isoformat()},
    )
    _replan(co_resident.person)
    return consent


@transaction.atomic
def withdraw_co_resident_consent(consent: CoResidentConsent, *, actor: Any, note: str = "") -> CoResidentConsent:
    """As the person's own withdrawal: from this instant no camera check can start, a
    running view is stopped, tonight's remaining camera checks become visits."""
    consent = CoResidentConsent.objects.select_for_update().select_related("co_resident__person").get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        raise ActionRefused(_("The consent is already withdrawn."))
    consent.withdrawn_at = clock.now()
    consent.withdrawn_by = actor
    consent.withdrawal_note = note
    consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_note"])
    person = consent.co_resident.person
    record(
        actor=actor,
        action=AuditAction.CO_RESIDENT_CONSENT_WITHDRAWN,
        tenant=person.tenant_id,
        person=person,
        obj=consent,
        detail={"co_resident": consent.co_resident.name, "note": note},
    )
    stop_camera_if_no_longer_allowed(person, reason="co_resident_consent_withdrawn")
    return consent


def stop_camera_if_no_longer_allowed(person: Person, *, reason: str) -> None:
    # Imported here: cameras and checks build on people, not the other way round.
    from cameras.actions import revoke_grants_for_person
    from checks.actions import switch_open_camera_checks_to_physical
    from checks.rules import camera_allowed_for_person

    now = clock.now()
    if camera_allowed_for_person(person, now) is not None:
        revoke_grants_for_person(person, reason=reason)
        switch_open_camera_checks_to_physical(person, reason=reason)


def find_overlapping_absence(
    person: Person, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> Absence | None:
    overlapping = Absence.objects.filter(person=person, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude_id is not None:
        overlapping = overlapping.exclude(id=exclude_id)
    return overlapping.first()


@transaction.atomic
def register_absence(
    person: Person, *, actor: User, kind: str, starts_at: datetime, ends_at: datetime, note: str = ""
) -> Absence:
    if ends_at <= starts_at:
        raise ActionRefused(_("The absence must end after it starts."))
    if find_overlapping_absence(person, starts_at, ends_at) is not None:
        raise ActionRefused(_("The absence overlaps another absence for this person."))
    absence = Absence.objects.create(
        person=person, kind=kind, starts_at=starts_at, ends_at=ends_at, note=note, created_by=actor
    )
    record(
        actor=actor,
        action=AuditAction.ABSENCE_CHANGED,
        tenant=person.tenant_id,
        person=person,
        obj=absence,
        detail={"kind": kind, "from": starts_at.isoformat(), "to": ends_at.isoformat()},
    )
    from checks.actions import cancel_checks_during_absence

    cancel_checks_during_absence(absence, actor=actor)
    return absence
