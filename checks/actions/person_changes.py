"""Checks moved by changes to the person: consent withdrawn, decision ended, absence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from audit.models import AuditAction
from audit.records import record
from checks.actions.escalations import hand_to_patrol_as_visit
from checks.actions.transitions import end_check
from checks.models import (
    OPEN_CHECK_STATES,
    Check,
    CheckForm,
    CheckState,
    Escalation,
    EscalationCause,
    EscalationResult,
    EscalationState,
)
from checks.reasons import absence_reason
from nattillsyn import clock
from people.models import Absence, Person

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def switch_open_camera_checks_to_physical(person: Person, *, reason: str) -> None:
    """Consent withdrawn or decision ended: the remaining camera checks become visits."""
    open_camera_checks = Check.objects.select_for_update().filter(
        person=person, form=CheckForm.CAMERA, state__in=OPEN_CHECK_STATES
    )
    for check in open_camera_checks:
        check.form = CheckForm.PHYSICAL
        check.form_note = reason
        check.save(update_fields=["form", "form_note"])
        if check.state in (CheckState.DUE, CheckState.IN_PROGRESS, CheckState.RETRY_WAIT):
            hand_to_patrol_as_visit(check)


def cancel_checks_during_absence(absence: Absence, *, actor: User | None) -> int:
    """Nobody is home: cancel every open check and pending visit the absence covers.

    1. Checks scheduled within the absence that nobody has opened: planned, due,
       waiting for a retry, or handed to the patrol as a visit.
    2. An absence that has begun ("from now") also covers what is live at its start:
       a check due at 23:00 and still waiting at 23:05 finds nobody home either.
    3. A pending visit's escalation is closed with the result "cancelled: away", so it
       leaves the patrol's list instead of sending someone to an empty home.
    A check an operator has open (in progress) is left to the operator's outcome.
    """
    reason = absence_reason(absence.kind)
    covered = Q(
        scheduled_at__gte=absence.starts_at,
        scheduled_at__lt=absence.ends_at,
        state__in=(CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT, CheckState.VISIT_PENDING),
    )
    if absence.starts_at <= clock.now():
        covered |= Q(
            scheduled_at__lt=absence.ends_at,
            state__in=(CheckState.DUE, CheckState.RETRY_WAIT, CheckState.VISIT_PENDING),
        )
    checks = Check.objects.select_for_update(of=("self",)).filter(covered, person_id=absence.person_id)
    count = 0
    for check in checks:
        if check.state == CheckState.VISIT_PENDING:
            _cancel_planned_visit(check, reason=reason, actor=actor)
        end_check(check, CheckState.CANCELLED, reason=reason, actor=actor)
        count += 1
    return count


def _cancel_planned_visit(check: Check, *, reason: str, actor: User | None) -> None:
    visits = Escalation.objects.select_for_update().filter(
        night_check=check,
        cause=EscalationCause.PLANNED_VISIT,
        state__in=(EscalationState.OPEN, EscalationState.ACKNOWLEDGED),
    )
    for escalation in visits:
        escalation.state = EscalationState.RESOLVED
        escalation.result = EscalationResult.CANCELLED_ABSENCE
        escalation.result_note = reason
        escalation.resolved_at = clock.now()
        escalation.resolved_by = actor
        escalation.save(update_fields=["state", "result", "result_note", "resolved_at", "resolved_by"])
        record(
            actor=actor,
            action=AuditAction.ESCALATION_RESOLVED,
            tenant=escalation.tenant_id,
            person=escalation.person_id,
            obj=escalation,
            detail={"result": EscalationResult.CANCELLED_ABSENCE, "reason": reason, "check": check.id},
        )
