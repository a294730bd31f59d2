"""Escalations to the night patrol and alarms to the shift lead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.records import record
from checks.actions.transitions import end_check, move
from checks.models import Alarm, Check, CheckState, Escalation, EscalationCause, EscalationKind, EscalationState
from checks.reasons import visit_reason
from nattillsyn import clock
from nattillsyn.errors import ActionRefused
from people.models import Person

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def escalation_plan(person: Person) -> list[str]:
    agreement = getattr(person, "agreement", None)
    steps = [step.kind for step in agreement.escalation_steps.all()] if agreement else []
    return steps or [EscalationKind.VISIT]


def escalate(check: Check, *, cause: str, actor: User | None, note: str = "") -> Escalation:
    """The check ends as escalated; the night patrol gets the agreed plan."""
    escalation = Escalation.objects.create(
        tenant_id=check.tenant_id,
        person_id=check.person_id,
        night_check=check,
        cause=cause,
        plan=escalation_plan(check.person),
        created_at=clock.now(),
    )
    end_check(check, CheckState.ESCALATED, reason=cause, actor=actor)
    record(
        actor=actor,
        action=AuditAction.ESCALATED,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=escalation,
        detail={"cause": cause, "check": check.id, "plan": escalation.plan, "note": note},
    )
    return escalation


def hand_to_patrol_as_visit(check: Check) -> Escalation:
    escalation = Escalation.objects.create(
        tenant_id=check.tenant_id,
        person_id=check.person_id,
        night_check=check,
        cause=EscalationCause.PLANNED_VISIT,
        plan=[EscalationKind.VISIT],
        created_at=clock.now(),
    )
    move(check, CheckState.VISIT_PENDING)
    check.save(update_fields=["state"])
    record(
        actor=None,
        action=AuditAction.ESCALATED,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=escalation,
        detail={"cause": EscalationCause.PLANNED_VISIT, "check": check.id},
    )
    return escalation


# --- The night patrol -------------------------------------------------------------------------------------


@transaction.atomic
def acknowledge_escalation(escalation: Escalation, *, actor: User | None) -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.state != EscalationState.OPEN:
        raise ActionRefused(_("The escalation is already acknowledged."))
    escalation.state = EscalationState.ACKNOWLEDGED
    escalation.acknowledged_at = clock.now()
    escalation.acknowledged_by = actor
    escalation.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
    record(
        actor=actor,
        action=AuditAction.ESCALATION_ACKNOWLEDGED,
        tenant=escalation.tenant_id,
        person=escalation.person_id,
        obj=escalation,
    )
    return escalation


@transaction.atomic
def resolve_escalation(escalation: Escalation, *, actor: User | None, result: str, note: str = "") -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.state == EscalationState.RESOLVED:
        raise ActionRefused(_("The result is already recorded."))
    if escalation.state == EscalationState.OPEN:
        escalation.acknowledged_at = clock.now()
        escalation.acknowledged_by = actor
    escalation.state = EscalationState.RESOLVED
    escalation.result = result
    escalation.result_note = note
    escalation.resolved_at = clock.now()
    escalation.resolved_by = actor
    escalation.save()
    record(
        actor=actor,
        action=AuditAction.ESCALATION_RESOLVED,
        tenant=escalation.tenant_id,
        person=escalation.person_id,
        obj=escalation,
        detail={"result": result, "note": note},
    )
    if escalation.cause == EscalationCause.PLANNED_VISIT and escalation.night_check_id:
        check = Check.objects.select_for_update().get(pk=escalation.night_check_id)
        if check.state == CheckState.VISIT_PENDING:
            end_check(check, CheckState.DONE, reason=visit_reason(result), actor=actor)
    return escalation


# --- The shift lead ---------------------------------------------------------------------------------------


def raise_alarm(
    tenant_id: int, kind: str, *, check: Check | None = None, escalation: Escalation | None = None
) -> Alarm:
    alarm = Alarm.objects.create(
        tenant_id=tenant_id, kind=kind, night_check=check, escalation=escalation, created_at=clock.now()
    )
    person_id = check.person_id if check else escalation.person_id if escalation else None
    record(
        actor=None,
        action=AuditAction.ALARM_RAISED,
        tenant=tenant_id,
        person=person_id,
        obj=alarm,
        detail={"kind": kind},
    )
    return alarm


@transaction.atomic
def acknowledge_alarm(alarm: Alarm, *, actor: User | None) -> Alarm:
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = clock.now()
        alarm.acknowledged_by = actor
        alarm.save(update_fields=["acknowledged_at", "acknowledged_by"])
        record(actor=actor, action=AuditAction.ALARM_ACKNOWLEDGED, tenant=alarm.tenant_id, obj=alarm)
    return alarm
