"""The privacy rules for opening a camera, in one place.

Each function returns None when the rule allows it, or a short machine reason
when it does not. The control plane asks these when an operator opens a check and
again when the gateway redeems the grant, so a change between the two (consent
withdrawn, check closed) still stops the view.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q

from checks.covered import camera_concern_refusal
from checks.models import Check, CheckForm, CheckState
from nattillsyn.clock import STOCKHOLM
from people.models import Person
from people.rules import co_resident_consent_spans, household_consent_refusal

# A first attempt may be opened this long before its agreed time. A retry may not be
# opened before its agreed delay has passed: the delay is what the person agreed to
# (time to get back to bed, to the bathroom and back), so it is not shortened.
EARLY_OPEN = timedelta(minutes=5)


def check_opens_at(check: Check) -> datetime | None:
    """The earliest instant an operator may open this check (None: not a check to open)."""
    if check.state == CheckState.RETRY_WAIT:
        return check.next_attempt_at
    if check.state in (CheckState.PLANNED, CheckState.DUE, CheckState.IN_PROGRESS):
        return check.scheduled_at - EARLY_OPEN
    return None


def openable_checks(moment: datetime) -> Q:
    """The ORM filter of ``check_opens_at(check) <= moment`` (the console's list of
    the work of now); ``camera_check_openable`` still decides each open."""
    return (
        Q(state__in=(CheckState.DUE, CheckState.IN_PROGRESS))
        | Q(state=CheckState.PLANNED, scheduled_at__lte=moment + EARLY_OPEN)
        | Q(state=CheckState.RETRY_WAIT, next_attempt_at__lte=moment)
    )


def camera_allowed_for_person(person: Person, moment: datetime) -> str | None:
    """Does this person allow camera supervision at ``moment``? Their own consent and
    that of everyone living with them must stand (people.rules), and no covered or
    turned camera may be waiting for the case officer's talk (checks.covered)."""
    consent_refusal = household_consent_refusal(person, moment)
    if consent_refusal is not None:
        return consent_refusal
    local = moment.astimezone(STOCKHOLM)
    if not any(decision.covers(local) for decision in person.decisions.all()):
        return "no_valid_decision"
    camera = getattr(person, "camera", None)
    if camera is None:
        return "no_camera"
    if not camera.installation_passed:
        return "camera_not_tested"
    # A camera found covered or turned: visits until the case officer has talked with the person.
    return camera_concern_refusal(person)


def camera_check_openable(check: Check, moment: datetime) -> str | None:
    """May an operator open the camera for this check at ``moment``?"""
    if check.form != CheckForm.CAMERA:
        return "not_a_camera_check"
    opens_at = check_opens_at(check)
    if opens_at is None or check.state == CheckState.IN_PROGRESS:
        return "check_not_open"
    if moment < opens_at:
        return "retry_not_yet_due" if check.state == CheckState.RETRY_WAIT else "not_yet_due"
    if check.window_ends_at is not None and moment >= check.window_ends_at:
        return "outside_check_window"
    return camera_allowed_for_person(check.person, moment)


def camera_view_startable(check: Check, moment: datetime) -> str | None:
    """May the view of an opened check start now (asked when the gateway redeems)?"""
    if check.form != CheckForm.CAMERA:
        return "not_a_camera_check"
    if check.state != CheckState.IN_PROGRESS:
        return "check_not_open"
    if check.window_ends_at is not None and moment >= check.window_ends_at:
        return "outside_check_window"
    return camera_allowed_for_person(check.person, moment)


def camera_allowed_until(person: Person, moment: datetime, *, needs_decision: bool = True) -> datetime | None:
    """Until when the person's consents (and decisions) allow the camera, counted on
    from ``moment``: ``moment`` itself if they do not then, None if nothing registered
    ends it. A view started at ``moment`` must end by then: a trial period or a
    decision ends at midnight without anyone revoking the view that is running."""
    until = _covered_until(moment, [consent.valid_span() for consent in person.consents.all()])
    for spans in co_resident_consent_spans(person):
        until = _earliest(until, _covered_until(moment, spans))
    if needs_decision:
        until = _earliest(until, _covered_until(moment, [decision.valid_span() for decision in person.decisions.all()]))
    return until


def camera_check_view_ends_by(check: Check, moment: datetime) -> datetime | None:
    """The latest end of a view of ``check`` opened at ``moment``: the check's window
    and the person's consent and decision, whichever ends first."""
    return _earliest(check.window_ends_at, camera_allowed_until(check.person, moment))


def _covered_until(moment: datetime, spans: Iterable[tuple[datetime, datetime | None]]) -> datetime | None:
    """The end of the run of overlapping or touching ``[start, end)`` spans that holds
    ``moment`` (``moment`` if none does; None if the run never ends)."""
    spans = list(spans)
    reached = moment
    while True:
        ends = [end for start, end in spans if start <= reached and (end is None or reached < end)]
        if not ends:
            return reached
        if None in ends:
            return None
        reached = max(end for end in ends if end is not None)


def _earliest(*instants: datetime | None) -> datetime | None:
    known = [instant for instant in instants if instant is not None]
    return min(known) if known else None
