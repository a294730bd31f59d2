"""The operator's check: open it, hold it, record what was seen."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.records import record
from cameras.actions import (
    AccessRefused,
    audited_refusals,
    issue_grant,
    refuse_unless_permitted,
    revoke_grants_for_attempt,
)
from cameras.models import GrantPurpose
from cameras.policy import view_permission
from checks.actions.escalations import escalate
from checks.actions.refusal_wording import PICTURE_REFUSAL_MESSAGES
from checks.actions.transitions import end_check, move
from checks.models import Attempt, Check, CheckState, EscalationCause, Outcome
from gateway.grants import Purpose
from nattillsyn import clock
from nattillsyn.errors import ActionRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A second "not visible" escalates (the guideline: one new attempt, then someone goes).
NOT_VISIBLE_BEFORE_ESCALATION = 2


@audited_refusals
def open_check(check: Check, *, actor: User, ip: str | None = None) -> tuple[Attempt, str]:
    """The operator opens a camera check: an attempt and a single-use view grant.

    A check someone has open is theirs while anybody may still be looking at it
    (``attempt_held_until``). The same operator may open it again at once (a late
    start, a closed tab, a crashed browser): the old attempt's grant is revoked and a
    new attempt gets a new grant inside the same window. Another operator is told who
    has it and since when; the refusal is audited.
    """
    check = Check.objects.select_for_update(of=("self",)).select_related("person", "tenant").get(pk=check.pk)
    now = clock.now()
    reopened: Attempt | None = None
    if check.state == CheckState.IN_PROGRESS:
        held = current_attempt(check)
        if held is not None and held.operator_id != actor.id and now < attempt_held_until(held):
            raise AccessRefused(
                _("%(operator)s has had this check open since %(since)s.")
                % {
                    "operator": operator_name(held.operator),
                    "since": f"{held.opened_at.astimezone(clock.STOCKHOLM):%H:%M}",
                },
                reason="held_by_other",
                actor=actor,
                tenant=check.tenant_id,
                person=check.person_id,
                obj=check,
                ip=ip,
            )
        reopened = held
        # Asked as the check stood before it was opened: its window and the person's
        # consent still decide, whoever opened it first.
        move(check, CheckState.DUE)
    permission = view_permission(purpose=Purpose.CHECK, moment=now, ip=ip, check=check)
    refuse_unless_permitted(permission, actor=actor, tenant=check.tenant_id, person=check.person_id, obj=check, ip=ip)
    if reopened is not None:
        revoke_grants_for_attempt(reopened, reason="reopened")
    attempt = Attempt.objects.create(night_check=check, operator=actor, opened_at=now)
    move(check, CheckState.IN_PROGRESS)
    if check.due_at is None:
        check.due_at = now
    check.save(update_fields=["state", "due_at"])
    _grant, token = issue_grant(
        check.person.camera,
        actor=actor,
        purpose=GrantPurpose.CHECK,
        person=check.person,
        attempt=attempt,
        permission=permission,
        ip=ip,
        detail={"reopened_attempt": reopened.id} if reopened is not None else None,
    )
    return attempt, token


def current_attempt(check: Check) -> Attempt | None:
    """The newest attempt of an opened check, if it has no outcome yet."""
    attempt = check.attempts.select_related("operator", "grant").order_by("-opened_at", "-id").first()
    return attempt if attempt is not None and not attempt.outcome else None


# How long an opened check stays its operator's when nobody is looking at it:
# a page that never started its view, and the time after a view to choose an outcome.
UNSTARTED_HOLD = timedelta(seconds=20)
AFTER_VIEW_HOLD = timedelta(seconds=30)


def attempt_held_until(attempt: Attempt) -> datetime:
    """Until when an attempt without outcome keeps its check from other operators (and
    from the worker's release): while its view may start or runs, and a short while after
    it ended, so the operator can record what they saw. A closed tab ends the view at
    once (the page sends DELETE), a crashed browser when the gateway cuts it at the
    view's end; either way the check is free again within a minute."""
    grant = getattr(attempt, "grant", None)
    if grant is None:
        return attempt.opened_at + UNSTARTED_HOLD
    if grant.revoked_at is not None:
        return grant.revoked_at + AFTER_VIEW_HOLD
    if grant.ended_at is not None:
        return grant.ended_at + AFTER_VIEW_HOLD
    if grant.redeemed_at is None:
        return min(grant.issued_at + UNSTARTED_HOLD, grant.start_by)
    return grant.hard_end + AFTER_VIEW_HOLD


def operator_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


# Outcomes that say what the operator saw in the picture; the others (needs help,
# technical fault) must be possible without one: a person on the floor seen for an
# instant, or no picture at all, is exactly when help must go.
OUTCOMES_NEEDING_PICTURE = (Outcome.SEEN_OK, Outcome.NOT_VISIBLE)


def picture_refusal(attempt: Attempt, outcome: str, now: datetime) -> str | None:
    """Has this attempt's viewer seen the picture long enough for ``outcome``?

    Only the gateway knows that frames reached the browser (its ``first_frame`` event).
    "Seen, OK" also needs the municipality's minimum look (default 2 s); "not visible"
    needs a picture at all, else it is a technical fault, not a person out of bed.
    """
    if outcome not in OUTCOMES_NEEDING_PICTURE:
        return None
    grant = getattr(attempt, "grant", None)
    if grant is None or grant.first_frame_at is None:
        return "no_picture"
    if outcome == Outcome.SEEN_OK:
        looked = ((grant.ended_at or now) - grant.first_frame_at).total_seconds()
        if looked < attempt.night_check.tenant.min_view_s:
            return "view_too_short"
    return None


@audited_refusals
def record_outcome(attempt: Attempt, *, actor: User, outcome: str) -> Check:
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("night_check__tenant", "grant")
        .get(pk=attempt.pk)
    )
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
    # Opened again since (a view that did not start, a closed tab): the outcome belongs to
    # the newest attempt, or a check could end twice (found by the domain model test).
    newer = check.attempts.filter(pk__gt=attempt.pk).select_related("operator")
    taken_over = newer.exclude(operator_id=actor.id).first()
    if taken_over is not None:
        raise ActionRefused(
            _("%(operator)s has opened this check again since; record the outcome there.")
            % {"operator": operator_name(taken_over.operator)}
        )
    if newer.exists():
        raise ActionRefused(_("You have opened this check again since; record the outcome on the newest view."))
    refusal = picture_refusal(attempt, outcome, now)
    if refusal is not None:
        raise AccessRefused(
            str(PICTURE_REFUSAL_MESSAGES[refusal]) % {"seconds": check.tenant.min_view_s},
            reason=refusal,
            actor=actor,
            tenant=check.tenant_id,
            person=check.person_id,
            obj=attempt,
            ip=None,
            action=AuditAction.OUTCOME_REFUSED,
            detail={"outcome": outcome, "check": check.id},
        )
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
        end_check(check, CheckState.DONE, reason=outcome, actor=actor)
    elif outcome == Outcome.NOT_VISIBLE:
        check.not_visible_count += 1
        if check.not_visible_count >= NOT_VISIBLE_BEFORE_ESCALATION:
            check.save(update_fields=["not_visible_count"])
            escalate(check, cause=EscalationCause.NOT_VISIBLE, actor=actor)
        else:
            delay = timedelta(minutes=check.person.agreement.retry_delay_min)
            move(check, CheckState.RETRY_WAIT)
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
