"""What a change to a person means for checks and cameras: the one orchestration place.

``people.actions`` changes decisions, consents and absences and sends a signal
(``people.signals``); the receivers here, connected in ``ChecksConfig.ready``, act in the
same transaction. people never imports checks or cameras, and nothing below checks
imports this module.
"""

from __future__ import annotations

from typing import Any

from cameras.actions import end_grants_for_person_by, revoke_grants_for_person
from cameras.policy import camera_allowed_for_person, camera_allowed_until
from checks.actions.person_changes import cancel_checks_during_absence, switch_open_camera_checks_to_physical
from checks.models import Agreement
from nattillsyn import clock
from people.models import Absence, Person
from people.signals import absence_registered, consent_withdrawn, decision_changed, household_changed


def replan(person: Person) -> None:
    """A decision changes which nights have checks: have the worker plan this person again."""
    Agreement.objects.filter(person=person).update(updated_at=clock.now())


def stop_live_views_if_no_longer_allowed(person: Person, *, reason: str) -> None:
    """Consent withdrawn or decision ended: running views are cut and camera checks become visits."""
    now = clock.now()
    if camera_allowed_for_person(person, now) is not None:
        revoke_grants_for_person(person, reason=reason)
        switch_open_camera_checks_to_physical(person, reason=reason)
        return
    # Still allowed now, but perhaps not for as long as a view was granted: a decision
    # ended "at the end of today" while a view runs across midnight (found by the
    # model-based test, nattillsyn/tests/test_domain_model.py).
    allowed_until = camera_allowed_until(person, now)
    if allowed_until is not None:
        end_grants_for_person_by(person, allowed_until, reason=reason)


def on_decision_changed(sender: Any, *, person: Person, ended: bool, **kwargs: Any) -> None:
    replan(person)
    if ended:
        stop_live_views_if_no_longer_allowed(person, reason="decision_ended")


def on_consent_withdrawn(sender: Any, *, person: Person, **kwargs: Any) -> None:
    stop_live_views_if_no_longer_allowed(person, reason="consent_withdrawn")


def on_household_changed(sender: Any, *, person: Person, reason: str, **kwargs: Any) -> None:
    """Someone at home who has not consented (moved in, or withdrew): as the person's own
    withdrawal. A consent given: the nights ahead are planned again with the camera."""
    replan(person)
    stop_live_views_if_no_longer_allowed(person, reason=reason)


def on_absence_registered(sender: Any, *, absence: Absence, actor: Any, **kwargs: Any) -> None:
    cancel_checks_during_absence(absence, actor=actor)


def connect() -> None:
    decision_changed.connect(on_decision_changed, dispatch_uid="checks.consequences.decision")
    consent_withdrawn.connect(on_consent_withdrawn, dispatch_uid="checks.consequences.consent")
    absence_registered.connect(on_absence_registered, dispatch_uid="checks.consequences.absence")
    household_changed.connect(on_household_changed, dispatch_uid="checks.consequences.household")
