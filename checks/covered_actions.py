"""Opening and closing a camera concern (the rule: checks/covered.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.records import record
from cameras.models import Camera, CameraProblem
from checks import actions
from checks.consequences import stop_live_views_if_no_longer_allowed
from checks.covered import CAMERA_COVERED
from checks.models import (
    Agreement,
    CameraConcern,
    Check,
    CheckState,
    ConcernKind,
    ConcernOutcome,
    EscalationCause,
    EscalationState,
)
from nattillsyn import clock
from nattillsyn.errors import ActionRefused
from people.actions import withdraw_consent
from people.models import Person

# What a probe or the privacy reconciler stores (before any colon) → what the person may have done.
CONCERN_KIND_OF_PROBLEM = {
    CameraProblem.PICTURE_BLACK.value: ConcernKind.COVERED,
    CameraProblem.PICTURE_FROZEN.value: ConcernKind.COVERED,
    CameraProblem.PRIVACY_NOT_REACHED.value: ConcernKind.TURNED,
    CameraProblem.MOVE_INCOMPLETE.value: ConcernKind.TURNED,
}


def concern_kind_of_problem(problem: str) -> str | None:
    """The kind of concern a confirmed camera problem is, or None for a technical fault."""
    return CONCERN_KIND_OF_PROBLEM.get(problem.split(":", 1)[0].strip())


def record_camera_probe(camera: Camera, *, ok: bool, problem: str, now: datetime, horizon: timedelta) -> None:
    """The worker's probe and privacy findings: stored and escalated as ever
    (``checks.actions.record_camera_probe``); a confirmed fault the person could have
    caused also opens a concern."""
    actions.record_camera_probe(camera, ok=ok, problem=problem, now=now, horizon=horizon)
    if ok or camera.person_id is None or camera.probe_failures < actions.PROBE_FAILURES_FOR_FAULT:
        return
    kind = concern_kind_of_problem(problem)
    if kind is not None:
        person = Person.objects.get(pk=camera.person_id)
        open_camera_concern(person, actor=None, kind=kind, evidence=problem, now=now)


@transaction.atomic
def open_camera_concern(
    person: Person, *, actor: Any, kind: str, evidence: str = "", now: datetime | None = None
) -> CameraConcern | None:
    """The person's camera was found covered, turned or removed: from now every camera
    check of theirs is a visit, the patrol is told why, and the case officer gets the
    task of talking with the person. None if a concern is open already."""
    now = now or clock.now()
    # The person's row is the lock: two workers finding the same black picture open one concern.
    Person.objects.select_for_update().filter(pk=person.pk).first()
    if CameraConcern.objects.filter(person=person, resolved_at__isnull=True).exists():
        return None
    concern = CameraConcern.objects.create(
        tenant_id=person.tenant_id, person=person, kind=kind, evidence=evidence[:200], found_at=now, found_by=actor
    )
    record(
        actor=actor,
        action=AuditAction.CAMERA_CONCERN_OPENED,
        tenant=person.tenant_id,
        person=person,
        obj=concern,
        detail={"kind": kind, "evidence": evidence[:200]},
        at=now,
    )
    # The same path as a withdrawn consent: the rule now refuses, so the grants go and
    # tonight's remaining camera checks become visits with the reason.
    stop_live_views_if_no_longer_allowed(person, reason=CAMERA_COVERED)
    # The checks the fault itself escalated carry the reason too, so the patrol reads it.
    Check.objects.filter(
        person=person,
        state=CheckState.ESCALATED,
        escalations__cause=EscalationCause.TECHNICAL_FAULT,
        escalations__state__in=(EscalationState.OPEN, EscalationState.ACKNOWLEDGED),
    ).update(form_note=CAMERA_COVERED)
    return concern


@transaction.atomic
def resolve_camera_concern(concern: CameraConcern, *, actor: Any, outcome: str, note: str = "") -> CameraConcern:
    """The case officer has talked with the person. The camera is used again from the
    next check, or, if the person no longer wants it, every consent of theirs is
    withdrawn through the ordinary withdrawal."""
    concern = CameraConcern.objects.select_for_update().select_related("person").get(pk=concern.pk)
    if concern.resolved_at is not None:
        raise ActionRefused(_("The outcome of this talk is already recorded."))
    if outcome not in ConcernOutcome.values:
        raise ActionRefused(_("Choose what the person said."))
    now = clock.now()
    concern.resolved_at = now
    concern.resolved_by = actor
    concern.outcome = outcome
    concern.outcome_note = note[:500]
    concern.save(update_fields=["resolved_at", "resolved_by", "outcome", "outcome_note"])
    record(
        actor=actor,
        action=AuditAction.CAMERA_CONCERN_RESOLVED,
        tenant=concern.tenant_id,
        person=concern.person_id,
        obj=concern,
        detail={"kind": concern.kind, "outcome": outcome, "note": note[:500]},
    )
    if outcome == ConcernOutcome.CONSENT_WITHDRAWN:
        for consent in concern.person.consents.filter(withdrawn_at__isnull=True):
            withdraw_consent(consent, actor=actor, note=note or str(ConcernOutcome.CONSENT_WITHDRAWN.label))
    # Checks already planned as visits return to camera at due time (settle_form asks the
    # rule again); touching the agreement has the worker look at the person's nights again.
    Agreement.objects.filter(person_id=concern.person_id).update(updated_at=now)
    return concern


def report_camera_covered(person: Person, *, actor: Any, note: str = "") -> CameraConcern | None:
    """Staff (operator, patrol) found the camera covered, turned or taken down."""
    return open_camera_concern(person, actor=actor, kind=ConcernKind.REPORTED, evidence=note)
