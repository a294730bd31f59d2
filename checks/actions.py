"""Every change to agreements, checks, escalations and alarms goes through here.

The worker's steps (``checks.engine``) and the views both call these functions;
each writes its audit entry in the same transaction as the change.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from cameras.actions import issue_grant, revoke_grants_for_attempt
from cameras.models import GrantPurpose
from checks.models import (
    OPEN_CHECK_STATES,
    AgreedTime,
    Agreement,
    Alarm,
    AlarmKind,
    Attempt,
    Check,
    CheckForm,
    CheckState,
    Escalation,
    EscalationCause,
    EscalationKind,
    EscalationState,
    EscalationStep,
    Outcome,
)
from checks.nights import night_bounds, scheduled_instant
from checks.rules import camera_allowed_for_person, camera_check_openable
from nattillsyn import clock
from people.actions import ActionRefused
from people.models import Absence, Person

# A second "not visible" escalates (the guideline: one new attempt, then someone goes).
NOT_VISIBLE_BEFORE_ESCALATION = 2


# --- Agreement -----------------------------------------------------------------------------------


@transaction.atomic
def save_agreement(
    person: Person,
    *,
    actor: Any,
    retry_delay_min: int,
    notes: str,
    times: list[tuple[time, str]],
    escalation_steps: list[str],
) -> Agreement:
    now = clock.now()
    if not times:
        raise ActionRefused(_("Agree on at least one check time."))
    if len({agreed for agreed, _form in times}) != len(times):
        raise ActionRefused(_("The same time is given twice."))
    if (
        not person.decisions.filter(valid_to__isnull=True).exists()
        and not person.decisions.filter(valid_to__gte=now.date()).exists()
    ):
        raise ActionRefused(_("No valid decision covers these check times: register the decision first."))
    agreement = Agreement.objects.filter(person=person).first() or Agreement(person=person)
    agreement.retry_delay_min = retry_delay_min
    agreement.notes = notes
    agreement.updated_at = now
    agreement.save()
    existing = {agreed.time: agreed for agreed in agreement.times.all()}
    wanted = dict(times)
    for agreed_time, agreed in existing.items():
        if agreed_time not in wanted:
            _cancel_planned_checks(agreed, reason="agreement_changed")
            agreed.delete()
        elif agreed.form != wanted[agreed_time]:
            _cancel_planned_checks(agreed, reason="agreement_changed")
            agreed.form = wanted[agreed_time]
            agreed.created_at = now
            agreed.save()
    for agreed_time, form in wanted.items():
        if agreed_time not in existing:
            AgreedTime.objects.create(agreement=agreement, time=agreed_time, form=form, created_at=now)
    agreement.escalation_steps.all().delete()
    for order, kind in enumerate(escalation_steps or [EscalationKind.VISIT]):
        EscalationStep.objects.create(agreement=agreement, order=order, kind=kind)
    record(
        actor=actor,
        action=AuditAction.AGREEMENT_CHANGED,
        tenant=person.tenant_id,
        person=person,
        obj=agreement,
        detail={
            "times": [f"{t:%H:%M} {f}" for t, f in sorted(times)],
            "retry_delay_min": retry_delay_min,
            "escalation": list(escalation_steps),
        },
    )
    return agreement


def _cancel_planned_checks(agreed: AgreedTime, *, reason: str) -> None:
    for check in Check.objects.filter(agreed_time=agreed, state=CheckState.PLANNED):
        _end_check(check, CheckState.CANCELLED, reason=reason, actor=None)


# --- Planning -------------------------------------------------------------------------------------


def plan_night(tenant: Tenant, night: Any, *, now: datetime, changed_since: datetime | None = None) -> int:
    """Create the checks of ``night`` for the persons of ``tenant``; idempotent.

    With ``changed_since``, only persons whose agreement or decision changed after it
    are looked at (the worker plans each night fully once, then incrementally).
    """
    night_start, night_end = night_bounds(night)
    persons = Person.objects.filter(tenant=tenant, agreement__isnull=False)
    if changed_since is not None:
        persons = persons.filter(agreement__updated_at__gte=changed_since)
    persons = persons.select_related("agreement").prefetch_related(
        "agreement__times", "decisions", "consents", "absences", "camera__installation_tests"
    )
    existing = set(
        Check.objects.filter(tenant=tenant, scheduled_at__gte=night_start, scheduled_at__lt=night_end).values_list(
            "person_id", "scheduled_at"
        )
    )
    window = timedelta(minutes=tenant.check_window_min)
    new_checks = []
    for person in persons.iterator(chunk_size=2000):
        for agreed in person.agreement.times.all():
            scheduled_at = scheduled_instant(night, agreed.time)
            if (person.id, scheduled_at) in existing or scheduled_at + window <= agreed.created_at:
                continue  # planned already, or agreed after this check's window had closed
            local = scheduled_at.astimezone(clock.STOCKHOLM)
            if not any(decision.covers(local) for decision in person.decisions.all()):
                continue
            new_checks.append(_new_check(person, tenant, agreed, night, scheduled_at))
    with transaction.atomic():
        Check.objects.bulk_create(new_checks, ignore_conflicts=True, batch_size=2000)
        if new_checks:
            record(
                actor=None,
                action=AuditAction.CHECKS_PLANNED,
                tenant=tenant,
                detail={"night": str(night), "checks": len(new_checks)},
                at=now,
            )
    return len(new_checks)


def _new_check(person: Person, tenant: Tenant, agreed: AgreedTime, night: Any, scheduled_at: datetime) -> Check:
    window = timedelta(minutes=tenant.check_window_min)
    check = Check(
        tenant_id=tenant.id,
        person=person,
        agreed_time=agreed,
        night=night,
        scheduled_at=scheduled_at,
        form=agreed.form,
        window_ends_at=scheduled_at + window,
    )
    absence = next(
        (absence for absence in person.absences.all() if absence.starts_at <= scheduled_at < absence.ends_at), None
    )
    if absence is not None:
        check.state = CheckState.CANCELLED
        check.end_reason = f"absence:{absence.kind}"
        check.ended_at = scheduled_at
        return check
    if agreed.form == CheckForm.CAMERA:
        refusal = camera_allowed_for_person(person, scheduled_at)
        if refusal is not None:
            check.form = CheckForm.PHYSICAL
            check.form_note = refusal
    return check


# --- Changes that move checks ------------------------------------------------------------------------


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
            _hand_to_patrol_as_visit(check)


def cancel_checks_during_absence(absence: Absence, *, actor: Any) -> int:
    checks = Check.objects.select_for_update().filter(
        person_id=absence.person_id,
        scheduled_at__gte=absence.starts_at,
        scheduled_at__lt=absence.ends_at,
        state__in=(CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT),
    )
    count = 0
    for check in checks:
        _end_check(check, CheckState.CANCELLED, reason=f"absence:{absence.kind}", actor=actor)
        count += 1
    return count


def _end_check(check: Check, state: str, *, reason: str, actor: Any) -> None:
    check.state = state
    check.end_reason = reason
    check.ended_at = clock.now()
    check.save(update_fields=["state", "end_reason", "ended_at"])
    if state == CheckState.CANCELLED:
        record(
            actor=actor,
            action=AuditAction.CHECK_CANCELLED,
            tenant=check.tenant_id,
            person=check.person_id,
            obj=check,
            detail={"reason": reason},
        )


# --- The operator's check ----------------------------------------------------------------------------


@transaction.atomic
def open_check(check: Check, *, actor: Any, ip: str | None = None) -> tuple[Attempt, str]:
    """The operator opens a camera check: an attempt and a single-use view grant."""
    check = Check.objects.select_for_update(of=("self",)).select_related("person", "tenant").get(pk=check.pk)
    now = clock.now()
    if check.state == CheckState.IN_PROGRESS:
        raise ActionRefused(_("Another operator has this check open."))
    refusal = camera_check_openable(check, now)
    if refusal is not None:
        record(
            actor=actor,
            action=AuditAction.GRANT_REFUSED,
            tenant=check.tenant_id,
            person=check.person_id,
            obj=check,
            ip=ip,
            detail={"reason": refusal},
        )
        raise ActionRefused(refusal_message(refusal))
    attempt = Attempt.objects.create(night_check=check, operator=actor, opened_at=now)
    check.state = CheckState.IN_PROGRESS
    if check.due_at is None:
        check.due_at = now
    check.save(update_fields=["state", "due_at"])
    _grant, token = issue_grant(
        check.person.camera,
        actor=actor,
        purpose=GrantPurpose.CHECK,
        person=check.person,
        attempt=attempt,
        hard_end=check.window_ends_at,
        ip=ip,
    )
    return attempt, token


REFUSAL_MESSAGES = {
    "not_a_camera_check": _("This check is a physical visit, not a camera check."),
    "retry_not_yet_due": _("The new attempt is not due yet."),
    "not_yet_due": _("The check is not due yet."),
    "check_not_open": _("The check is already closed."),
    "outside_check_window": _("The time window for this check has passed."),
    "no_valid_consent": _("There is no valid consent to camera supervision."),
    "no_valid_decision": _("There is no valid decision on night supervision."),
    "no_camera": _("No camera is assigned to the person."),
    "camera_not_tested": _("The camera's installation test has not been passed."),
}


def refusal_message(reason: str) -> str:
    return str(REFUSAL_MESSAGES.get(reason, reason))


@transaction.atomic
def record_outcome(attempt: Attempt, *, actor: Any, outcome: str) -> Check:
    attempt = Attempt.objects.select_for_update(of=("self",)).select_related("night_check").get(pk=attempt.pk)
    check = (
        Check.objects.select_for_update(of=("self",)).select_related("person__agreement").get(pk=attempt.night_check_id)
    )
    if attempt.outcome:
        raise ActionRefused(_("The outcome of this attempt is already recorded."))
    if attempt.operator_id != actor.id:
        raise ActionRefused(_("Only the operator who opened the check can record its outcome."))
    if outcome not in Outcome.values:
        raise ActionRefused(_("Unknown outcome."))
    now = clock.now()
    attempt.outcome = outcome
    attempt.outcome_at = now
    attempt.save(update_fields=["outcome", "outcome_at"])
    revoke_grants_for_attempt(attempt, reason="outcome_recorded")
    record(
        actor=actor,
        action=AuditAction.CHECK_OUTCOME,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=attempt,
        detail={"outcome": outcome, "check": check.id},
    )
    if check.state not in (CheckState.IN_PROGRESS, CheckState.DUE, CheckState.RETRY_WAIT):
        return check  # closed meanwhile (e.g. consent withdrawn): the outcome is kept, nothing moves
    if outcome == Outcome.SEEN_OK:
        _end_check(check, CheckState.DONE, reason=outcome, actor=actor)
    elif outcome == Outcome.NOT_VISIBLE:
        check.not_visible_count += 1
        if check.not_visible_count >= NOT_VISIBLE_BEFORE_ESCALATION:
            check.save(update_fields=["not_visible_count"])
            escalate(check, cause=EscalationCause.NOT_VISIBLE, actor=actor)
        else:
            delay = timedelta(minutes=check.person.agreement.retry_delay_min)
            check.state = CheckState.RETRY_WAIT
            check.next_attempt_at = now + delay
            check.window_ends_at = check.next_attempt_at + timedelta(minutes=check.tenant.check_window_min)
            check.overdue_alarm_raised = False
            check.save(
                update_fields=[
                    "state",
                    "not_visible_count",
                    "next_attempt_at",
                    "window_ends_at",
                    "overdue_alarm_raised",
                ]
            )
            record(
                actor=actor,
                action=AuditAction.RETRY_SCHEDULED,
                tenant=check.tenant_id,
                person=check.person_id,
                obj=check,
                detail={"at": check.next_attempt_at.isoformat()},
            )
    elif outcome == Outcome.NEEDS_HELP:
        escalate(check, cause=EscalationCause.NEEDS_HELP, actor=actor)
    else:
        escalate(check, cause=EscalationCause.TECHNICAL_FAULT, actor=actor)
    return check


def escalation_plan(person: Person) -> list[str]:
    agreement = getattr(person, "agreement", None)
    steps = [step.kind for step in agreement.escalation_steps.all()] if agreement else []
    return steps or [EscalationKind.VISIT]


def escalate(check: Check, *, cause: str, actor: Any, note: str = "") -> Escalation:
    """The check ends as escalated; the night patrol gets the agreed plan."""
    escalation = Escalation.objects.create(
        tenant_id=check.tenant_id,
        person_id=check.person_id,
        night_check=check,
        cause=cause,
        plan=escalation_plan(check.person),
        created_at=clock.now(),
    )
    _end_check(check, CheckState.ESCALATED, reason=cause, actor=actor)
    record(
        actor=actor,
        action=AuditAction.ESCALATED,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=escalation,
        detail={"cause": cause, "check": check.id, "plan": escalation.plan, "note": note},
    )
    return escalation


def _hand_to_patrol_as_visit(check: Check) -> Escalation:
    escalation = Escalation.objects.create(
        tenant_id=check.tenant_id,
        person_id=check.person_id,
        night_check=check,
        cause=EscalationCause.PLANNED_VISIT,
        plan=[EscalationKind.VISIT],
        created_at=clock.now(),
    )
    check.state = CheckState.VISIT_PENDING
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
def acknowledge_escalation(escalation: Escalation, *, actor: Any) -> Escalation:
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
def resolve_escalation(escalation: Escalation, *, actor: Any, result: str, note: str = "") -> Escalation:
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
            _end_check(check, CheckState.DONE, reason=f"visit:{result}", actor=actor)
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
def acknowledge_alarm(alarm: Alarm, *, actor: Any) -> Alarm:
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = clock.now()
        alarm.acknowledged_by = actor
        alarm.save(update_fields=["acknowledged_at", "acknowledged_by"])
        record(actor=actor, action=AuditAction.ALARM_ACKNOWLEDGED, tenant=alarm.tenant_id, obj=alarm)
    return alarm


# --- Worker steps (called by checks.engine, one claimed row at a time) ----------------------------------------


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
        _hand_to_patrol_as_visit(check)
        return
    check.state = CheckState.DUE
    check.due_at = now
    check.save(update_fields=["state", "due_at"])
    record(actor=None, action=AuditAction.CHECK_DUE, tenant=check.tenant_id, person=check.person_id, obj=check, at=now)


def make_retry_due(check: Check, now: datetime) -> None:
    check.state = CheckState.DUE
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
    """Store a health probe's result. A fault escalates the person's camera checks due
    within ``horizon`` at once, so the night patrol can plan the visit before the time."""
    from cameras.models import Camera

    Camera.objects.filter(id=camera.id).update(last_probe_at=now, last_probe_ok=ok, last_probe_problem=problem)
    if ok or camera.person_id is None:
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


def release_abandoned_attempt(check: Check) -> None:
    """An opened check whose view ended without an outcome goes back to the queue."""
    check.state = CheckState.DUE
    check.save(update_fields=["state"])
