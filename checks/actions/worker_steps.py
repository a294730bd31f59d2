"""The worker's steps (called by ``checks.engine``, one claimed row at a time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from audit.models import AuditAction
from audit.records import record
from cameras.models import Camera
from cameras.policy import camera_allowed_for_person
from checks.actions.escalations import escalate, hand_to_patrol_as_visit, raise_alarm
from checks.actions.operator_check import attempt_held_until, current_attempt
from checks.actions.transitions import move
from checks.models import AlarmKind, Check, CheckForm, CheckState, Escalation, EscalationCause

# Failed health probes in a row that make a camera fault (see record_camera_probe).
PROBE_FAILURES_FOR_FAULT = 2


def settle_form(check: Check, now: datetime) -> None:
    """The form planned for a check is a forecast; at due time the rules decide.

    A camera tested or a consent given after planning makes tonight's check a camera
    check; a consent withdrawn or a camera untested makes it a visit.
    """
    agreed_camera = check.agreed_time is not None and check.agreed_time.form == CheckForm.CAMERA
    refusal = camera_allowed_for_person(check.person, now) if agreed_camera else "agreed_physical"
    form = CheckForm.CAMERA if refusal is None else CheckForm.PHYSICAL
    if form != check.form:
        check.form = form
        check.form_note = refusal or ""
        check.save(update_fields=["form", "form_note"])


def make_due(check: Check, now: datetime) -> None:
    settle_form(check, now)
    if check.form == CheckForm.PHYSICAL:
        check.due_at = now
        check.save(update_fields=["due_at"])
        hand_to_patrol_as_visit(check)
        return
    move(check, CheckState.DUE)
    check.due_at = now
    check.save(update_fields=["state", "due_at"])
    record(actor=None, action=AuditAction.CHECK_DUE, tenant=check.tenant_id, person=check.person_id, obj=check, at=now)


def make_retry_due(check: Check, now: datetime) -> None:
    move(check, CheckState.DUE)
    check.due_at = now
    check.save(update_fields=["state", "due_at"])


def raise_overdue_alarm(check: Check) -> None:
    check.overdue_alarm_raised = True
    check.save(update_fields=["overdue_alarm_raised"])
    raise_alarm(check.tenant_id, AlarmKind.OVERDUE_CHECK, check=check)


def raise_unacknowledged_alarm(escalation: Escalation) -> None:
    escalation.ack_alarm_raised = True
    escalation.save(update_fields=["ack_alarm_raised"])
    raise_alarm(escalation.tenant_id, AlarmKind.UNACKNOWLEDGED_ESCALATION, escalation=escalation)


def escalate_missed(check: Check) -> None:
    """The window passed with no outcome: somebody must go (nothing silently missed)."""
    escalate(check, cause=EscalationCause.MISSED, actor=None)


@transaction.atomic
def record_camera_probe(camera: Any, *, ok: bool, problem: str, now: datetime, horizon: timedelta) -> list[Escalation]:
    """Store a health probe's result. A confirmed fault escalates the person's camera
    checks due within ``horizon`` at once, so the night patrol can plan the visit.

    One failed probe is not enough: a 4G link drops for seconds and a camera restarts,
    and the patrol must not be sent for that. The worker probes a failing camera again
    after a minute; the second failure in a row is the fault.
    """
    failures = 0 if ok else camera.probe_failures + 1
    Camera.objects.filter(id=camera.id).update(
        last_probe_at=now, last_probe_ok=ok, last_probe_problem=problem, probe_failures=failures
    )
    camera.probe_failures = failures
    if ok or camera.person_id is None or failures < PROBE_FAILURES_FOR_FAULT:
        return []
    record(
        actor=None,
        action=AuditAction.CAMERA_FAULT,
        tenant=camera.tenant_id,
        person=camera.person_id,
        obj=camera,
        detail={"problem": problem, "probe": "worker"},
        at=now,
    )
    upcoming = (
        Check.objects.select_for_update(of=("self",))
        .select_related("person")
        .filter(
            person_id=camera.person_id,
            form=CheckForm.CAMERA,
            scheduled_at__lte=now + horizon,
            state__in=(CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT),
        )
    )
    escalations = []
    for check in upcoming:
        check.camera_fault = problem
        check.save(update_fields=["camera_fault"])
        escalations.append(escalate(check, cause=EscalationCause.TECHNICAL_FAULT, actor=None, note=problem))
    if escalations:
        raise_alarm(camera.tenant_id, AlarmKind.CAMERA_FAULT, check=escalations[0].night_check)
    return escalations


def release_abandoned_attempt(check: Check, now: datetime) -> bool:
    """An opened check that nobody is looking at goes back to the queue
    (``attempt_held_until``); True if it was released."""
    attempt = current_attempt(check)
    if attempt is not None and now < attempt_held_until(attempt):
        return False
    move(check, CheckState.DUE)
    check.save(update_fields=["state"])
    record(
        actor=None,
        action=AuditAction.CHECK_RELEASED,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=check,
        detail={"attempt": attempt.id if attempt is not None else None},
        at=now,
    )
    return True
