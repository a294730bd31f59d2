"""The one table of the states a check may move between, asked by every change of state.

A check is planned, becomes due (or a visit for the patrol), is opened, waits for its
retry, and ends done, escalated or cancelled; an ended check never moves again (the
reports count it once and for all, ``reports.tally``). Every assignment of a check's
state goes through ``move``, so a change the table does not list fails loudly instead
of leaving a check in a state nobody handles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.models import AuditAction
from audit.records import record
from checks.models import Check, CheckState
from nattillsyn import clock

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PLANNED, DUE, IN_PROGRESS, RETRY_WAIT, VISIT_PENDING, DONE, ESCALATED, CANCELLED = (
    CheckState.PLANNED,
    CheckState.DUE,
    CheckState.IN_PROGRESS,
    CheckState.RETRY_WAIT,
    CheckState.VISIT_PENDING,
    CheckState.DONE,
    CheckState.ESCALATED,
    CheckState.CANCELLED,
)

# From each state, the states a check may move to, and who moves it there.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    # make_due; open_check (five minutes early); make_due of a visit; a camera fault;
    # absence or agreement changed.
    PLANNED: frozenset({DUE, IN_PROGRESS, VISIT_PENDING, ESCALATED, CANCELLED}),
    # open_check; record_outcome (an outcome of an attempt released meanwhile); consent
    # withdrawn; missed window or camera fault; absence.
    DUE: frozenset({IN_PROGRESS, RETRY_WAIT, VISIT_PENDING, DONE, ESCALATED, CANCELLED}),
    # release_abandoned_attempt; reopened by its operator (open_check); record_outcome;
    # consent withdrawn. An absence leaves an opened check to its operator.
    IN_PROGRESS: frozenset({DUE, IN_PROGRESS, RETRY_WAIT, VISIT_PENDING, DONE, ESCALATED}),
    # make_retry_due; open_check once the delay has passed; record_outcome; consent
    # withdrawn; missed window or camera fault; absence.
    RETRY_WAIT: frozenset({DUE, IN_PROGRESS, RETRY_WAIT, VISIT_PENDING, DONE, ESCALATED, CANCELLED}),
    # The patrol's result (resolve_escalation) or an absence.
    VISIT_PENDING: frozenset({DONE, CANCELLED}),
    DONE: frozenset(),
    ESCALATED: frozenset(),
    CANCELLED: frozenset(),
}


class IllegalTransition(Exception):
    """A change of a check's state that ``ALLOWED_TRANSITIONS`` does not list: a bug, never user input."""


def move(check: Check, state: str) -> None:
    """Set ``check.state`` after asking the table; the caller saves it with its other fields."""
    if state not in ALLOWED_TRANSITIONS.get(check.state, frozenset()):
        raise IllegalTransition(f"check {check.pk}: {check.state} → {state} is not an allowed change")
    check.state = state


def end_check(check: Check, state: str, *, reason: str, actor: User | None) -> None:
    move(check, state)
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
