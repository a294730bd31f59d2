"""The privacy rules for opening a camera, in one place.

Each function returns None when the rule allows it, or a short machine reason
when it does not. The control plane asks these when an operator opens a check and
again when the gateway redeems the grant, so a change between the two (consent
withdrawn, check closed) still stops the view.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from checks.models import Check, CheckForm, CheckState
from people.models import Person

# A camera check may be opened this long before its agreed time.
EARLY_OPEN = timedelta(minutes=5)


def camera_allowed_for_person(person: Person, moment: datetime) -> str | None:
    """Does this person allow camera supervision at ``moment``?"""
    if not any(consent.is_valid_at(moment) for consent in person.consents.all()):
        return "no_valid_consent"
    from nattillsyn.clock import STOCKHOLM

    local = moment.astimezone(STOCKHOLM)
    if not any(decision.covers(local) for decision in person.decisions.all()):
        return "no_valid_decision"
    camera = getattr(person, "camera", None)
    if camera is None:
        return "no_camera"
    if not camera.installation_passed:
        return "camera_not_tested"
    return None


def camera_check_openable(check: Check, moment: datetime) -> str | None:
    """May an operator open the camera for this check at ``moment``?"""
    if check.form != CheckForm.CAMERA:
        return "not_a_camera_check"
    if check.state == CheckState.RETRY_WAIT:
        if check.next_attempt_at is None or moment < check.next_attempt_at - EARLY_OPEN:
            return "retry_not_yet_due"
    elif check.state == CheckState.PLANNED:
        if moment < check.scheduled_at - EARLY_OPEN:
            return "not_yet_due"
    elif check.state != CheckState.DUE:
        return "check_not_open"
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
