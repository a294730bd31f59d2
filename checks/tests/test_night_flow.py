"""One whole night driven by a fake clock: planning, due, outcome, retry, escalation, alarms."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from checks import actions
from checks.engine import NightWorker
from checks.models import (
    Alarm,
    AlarmKind,
    Check,
    CheckForm,
    CheckState,
    Escalation,
    EscalationCause,
    EscalationResult,
    EscalationState,
    Outcome,
)
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.errors import ActionRefused
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person, show_picture
from people.actions import register_absence, withdraw_consent
from people.models import AbsenceKind

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def worker() -> NightWorker:
    return NightWorker("test-worker")


@pytest.fixture
def person(home: Municipality, fake_clock: FakeClock):  # type: ignore[no-untyped-def]
    return make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0])


def _tonight(person) -> list[Check]:  # type: ignore[no-untyped-def]
    return list(Check.objects.filter(person=person).order_by("scheduled_at"))


def test_it_plans_tonights_checks_once(worker: NightWorker, person, fake_clock: FakeClock) -> None:
    worker.tick(fake_clock())
    worker.tick(fake_clock())
    checks = [c for c in _tonight(person) if c.night == clock.day_of(fake_clock())]
    assert [c.scheduled_at for c in checks] == [
        at_stockholm(2026, 11, 23, 23),
        at_stockholm(2026, 11, 24, 2),
        at_stockholm(2026, 11, 24, 5),
    ]
    assert all(c.form == CheckForm.CAMERA and c.state == CheckState.PLANNED for c in checks)


def test_it_plans_physical_visits_until_the_camera_is_tested(
    home: Municipality, fake_clock: FakeClock, worker: NightWorker
) -> None:
    untested = make_person(home, "Bertil", personnummer=TEST_PERSONNUMMER[1], tested=False)
    worker.tick(fake_clock())
    checks = _tonight(untested)
    assert checks and all(c.form == CheckForm.PHYSICAL and c.form_note == "camera_not_tested" for c in checks)


def test_a_seen_ok_check_is_done(person, worker: NightWorker, fake_clock: FakeClock, home: Municipality) -> None:
    worker.tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 1))
    worker.tick(fake_clock())
    check = _tonight(person)[0]
    assert check.state == CheckState.DUE
    operator = home.user(Role.OPERATOR)
    attempt, token = actions.open_check(check, actor=operator)
    assert token.startswith("v1.")
    show_picture(attempt)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.SEEN_OK)
    check.refresh_from_db()
    assert check.state == CheckState.DONE
    assert AuditEntry.objects.filter(action=AuditAction.CHECK_OUTCOME, person=person).count() == 1


def test_not_visible_twice_escalates_and_the_patrol_closes_it(
    person, worker: NightWorker, fake_clock: FakeClock, home: Municipality
) -> None:
    worker.tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    operator = home.user(Role.OPERATOR)
    check = _tonight(person)[0]
    attempt, _ = actions.open_check(check, actor=operator)
    show_picture(attempt)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.NOT_VISIBLE)
    check.refresh_from_db()
    assert check.state == CheckState.RETRY_WAIT
    assert check.next_attempt_at == at_stockholm(2026, 11, 23, 23, 15)

    # Not before the retry is due …
    fake_clock.advance(minutes=5)
    with pytest.raises(ActionRefused):
        actions.open_check(check, actor=operator)
    # … then once more, still not visible: escalation with the agreed plan.
    fake_clock.advance(minutes=10)
    worker.tick(fake_clock())
    check.refresh_from_db()
    assert check.state == CheckState.DUE
    attempt, _ = actions.open_check(check, actor=operator)
    show_picture(attempt)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.NOT_VISIBLE)
    check.refresh_from_db()
    assert check.state == CheckState.ESCALATED
    escalation = Escalation.objects.get(night_check=check)
    assert escalation.cause == EscalationCause.NOT_VISIBLE
    assert escalation.plan == ["visit", "call_relative"]

    patrol = home.user(Role.PATROL)
    actions.acknowledge_escalation(escalation, actor=patrol)
    actions.resolve_escalation(escalation, actor=patrol, result=EscalationResult.VISITED_OK)
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.RESOLVED


@pytest.mark.parametrize(
    "outcome,cause",
    [(Outcome.NEEDS_HELP, EscalationCause.NEEDS_HELP), (Outcome.TECHNICAL_FAULT, EscalationCause.TECHNICAL_FAULT)],
)
def test_needs_help_and_faults_escalate_at_once(
    person, worker: NightWorker, fake_clock: FakeClock, home: Municipality, outcome: str, cause: str
) -> None:
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(_tonight(person)[0], actor=operator)
    show_picture(attempt)
    actions.record_outcome(attempt, actor=operator, outcome=outcome)
    assert Escalation.objects.get(person=person).cause == cause


def test_an_unstarted_check_raises_an_overdue_alarm_then_escalates_when_its_window_ends(
    person, worker: NightWorker, fake_clock: FakeClock
) -> None:
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    fake_clock.advance(minutes=9)
    worker.tick(fake_clock())
    assert not Alarm.objects.exists()
    fake_clock.advance(minutes=1)
    worker.tick(fake_clock())
    worker.tick(fake_clock())
    assert Alarm.objects.filter(kind=AlarmKind.OVERDUE_CHECK).count() == 1
    fake_clock.set(at_stockholm(2026, 11, 24, 0, 0))
    worker.tick(fake_clock())
    check = _tonight(person)[0]
    assert check.state == CheckState.ESCALATED
    assert Escalation.objects.get(night_check=check).cause == EscalationCause.MISSED


def test_an_escalation_nobody_acknowledges_alerts_the_shift_lead(
    person, worker: NightWorker, fake_clock: FakeClock, home: Municipality
) -> None:
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(_tonight(person)[0], actor=operator)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.NEEDS_HELP)
    fake_clock.advance(minutes=home.tenant.escalation_ack_min)
    worker.tick(fake_clock())
    assert Alarm.objects.filter(kind=AlarmKind.UNACKNOWLEDGED_ESCALATION).count() == 1


def test_every_check_of_a_night_ends_done_escalated_or_cancelled(
    person, worker: NightWorker, fake_clock: FakeClock
) -> None:
    """Nothing is silently missed: with nobody at the console the whole night still ends."""
    fake_clock.set(at_stockholm(2026, 11, 23, 21, 0))
    for _ in range(16 * 4):  # 21:00 → 13:00, every 15 minutes
        worker.tick(fake_clock())
        fake_clock.advance(minutes=15)
    night = [c for c in _tonight(person) if c.night.isoformat() == "2026-11-23"]
    assert len(night) == 3
    assert {c.state for c in night} == {CheckState.ESCALATED}


def test_withdrawn_consent_stops_camera_checks(
    person, worker: NightWorker, fake_clock: FakeClock, home: Municipality
) -> None:
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    withdraw_consent(person.consents.get(), actor=home.user(Role.PLANNER), note="Vill inte längre")
    check = _tonight(person)[0]
    with pytest.raises(ActionRefused):
        actions.open_check(check, actor=home.user(Role.OPERATOR))
    check.refresh_from_db()
    assert check.form == CheckForm.PHYSICAL
    assert check.state == CheckState.VISIT_PENDING  # somebody still comes


def test_an_absence_cancels_checks_with_a_reason(
    person, worker: NightWorker, fake_clock: FakeClock, home: Municipality
) -> None:
    worker.tick(fake_clock())
    register_absence(
        person,
        actor=home.user(Role.PLANNER),
        kind=AbsenceKind.HOSPITAL,
        starts_at=at_stockholm(2026, 11, 23, 22),
        ends_at=at_stockholm(2026, 11, 30, 12),
    )
    night = _tonight(person)
    assert night and all(c.state == CheckState.CANCELLED and c.end_reason == "absence:hospital" for c in night)
    with pytest.raises(ActionRefused):
        register_absence(
            person,
            actor=home.user(Role.PLANNER),
            kind=AbsenceKind.OTHER,
            starts_at=at_stockholm(2026, 11, 29, 0),
            ends_at=at_stockholm(2026, 12, 2, 0),
        )


def test_a_physical_check_goes_to_the_patrol_and_ends_done(
    home: Municipality, fake_clock: FakeClock, worker: NightWorker
) -> None:
    person = make_person(home, "Cecilia", personnummer=TEST_PERSONNUMMER[2], with_camera=False, times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    check = _tonight(person)[0]
    assert check.state == CheckState.VISIT_PENDING
    escalation = Escalation.objects.get(night_check=check)
    assert escalation.cause == EscalationCause.PLANNED_VISIT
    actions.resolve_escalation(escalation, actor=home.user(Role.PATROL), result=EscalationResult.VISITED_OK)
    check.refresh_from_db()
    assert check.state == CheckState.DONE


def test_an_abandoned_open_check_returns_to_the_queue(
    person, worker: NightWorker, fake_clock: FakeClock, home: Municipality
) -> None:
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    check = _tonight(person)[0]
    actions.open_check(check, actor=home.user(Role.OPERATOR))
    # Nobody started the view (a closed tab): within a minute the check is free again.
    fake_clock.advance(seconds=actions.UNSTARTED_HOLD.total_seconds() + 2)
    worker.tick(fake_clock())
    check.refresh_from_db()
    assert check.state == CheckState.DUE


def test_retry_delay_is_taken_from_the_agreement(
    home: Municipality, fake_clock: FakeClock, worker: NightWorker
) -> None:
    person = make_person(home, "Doris", personnummer=TEST_PERSONNUMMER[3], retry_delay_min=7)
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(_tonight(person)[0], actor=operator)
    show_picture(attempt)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.NOT_VISIBLE)
    assert _tonight(person)[0].next_attempt_at == at_stockholm(2026, 11, 23, 23, 7)
    assert _tonight(person)[0].next_attempt_at - fake_clock() == timedelta(minutes=7)


def test_a_check_cancelled_at_planning_has_its_own_audit_entry(
    person, worker: NightWorker, fake_clock: FakeClock, home: Municipality
) -> None:
    from audit.models import AuditAction, AuditEntry

    register_absence(  # the night of the 25th is not planned yet (tonight and tomorrow are)
        person,
        actor=home.user(Role.PLANNER),
        kind=AbsenceKind.SKIP_NIGHT,
        starts_at=at_stockholm(2026, 11, 25, 20),
        ends_at=at_stockholm(2026, 11, 26, 8),
    )
    worker.tick(fake_clock())
    fake_clock.advance(days=1)
    worker.tick(fake_clock())
    cancelled = AuditEntry.objects.filter(action=AuditAction.CHECK_CANCELLED, person=person)
    assert [entry.detail["night"] for entry in cancelled] == ["2026-11-25"]
    assert cancelled[0].detail["reason"] == "absence:skip_night"
    assert len(cancelled[0].detail["times"]) == person.agreement.times.count()
