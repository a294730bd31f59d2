"""An absence cancels every open check and pending visit it covers, and the patrol is told."""

from __future__ import annotations

from datetime import time

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from checks import actions
from checks.engine import NightWorker
from checks.forms import ResolveEscalationForm
from checks.models import Check, CheckForm, CheckState, Escalation, EscalationResult, EscalationState, Outcome
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person, show_picture
from people.actions import register_absence
from people.models import AbsenceKind, Person

pytestmark = pytest.mark.django_db


def away(municipality: Municipality, person: Person, *, starts: tuple[int, ...], ends: tuple[int, ...]) -> None:
    register_absence(
        person,
        actor=municipality.user(Role.PLANNER),
        kind=AbsenceKind.HOSPITAL,
        starts_at=at_stockholm(*starts),
        ends_at=at_stockholm(*ends),
    )


def states(person: Person) -> list[str]:
    return list(Check.objects.filter(person=person, night="2026-11-23").values_list("state", flat=True))


def test_it_cancels_a_visit_already_handed_to_the_patrol(home: Municipality, fake_clock: FakeClock) -> None:
    # No consent: the 23:00 camera time becomes a visit for the patrol at due time.
    person = make_person(home, "Besök", personnummer=TEST_PERSONNUMMER[0], consent=False, times=[time(23), time(2)])
    worker = NightWorker("t")
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    visit = Escalation.objects.get(person=person)
    actions.acknowledge_escalation(visit, actor=home.user(Role.PATROL))  # the patrol is on its way
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 10))
    away(home, person, starts=(2026, 11, 23, 22, 30), ends=(2026, 11, 24, 12))
    assert states(person) == [CheckState.CANCELLED, CheckState.CANCELLED]
    visit.refresh_from_db()
    assert visit.state == EscalationState.RESOLVED
    assert visit.result == EscalationResult.CANCELLED_ABSENCE and visit.result_note == "absence:hospital"
    assert visit.resolved_by == home.user(Role.PLANNER)
    resolved = AuditEntry.objects.get(action=AuditAction.ESCALATION_RESOLVED, object_id=str(visit.id))
    assert resolved.detail["result"] == "cancelled_absence" and resolved.detail["reason"] == "absence:hospital"
    assert AuditEntry.objects.filter(action=AuditAction.CHECK_CANCELLED, person=person).count() == 2
    # It has left the patrol's list, and the patrol cannot pick this result itself.
    assert not Escalation.objects.filter(state__in=(EscalationState.OPEN, EscalationState.ACKNOWLEDGED)).exists()
    assert "cancelled_absence" not in dict(ResolveEscalationForm().fields["result"].choices)  # type: ignore[attr-defined]


def test_an_absence_from_now_cancels_a_check_already_due(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Nu", personnummer=TEST_PERSONNUMMER[0], times=[time(23), time(2)])
    worker = NightWorker("t")
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    assert states(person)[0] == CheckState.DUE
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 5))
    away(home, person, starts=(2026, 11, 23, 23, 5), ends=(2026, 11, 24, 12))  # "from now"
    assert states(person) == [CheckState.CANCELLED, CheckState.CANCELLED]
    # Nothing is left for the worker to escalate when the window closes.
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 30))
    worker.tick(fake_clock())
    assert not Escalation.objects.exists()


def test_an_absence_from_now_cancels_a_check_waiting_for_its_retry(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Åter", personnummer=TEST_PERSONNUMMER[0], times=[time(23)])
    worker = NightWorker("t")
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    operator = home.user(Role.OPERATOR)
    attempt, _token = actions.open_check(Check.objects.get(person=person, night="2026-11-23"), actor=operator)
    show_picture(attempt)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.NOT_VISIBLE)
    assert states(person) == [CheckState.RETRY_WAIT]
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 4))
    away(home, person, starts=(2026, 11, 23, 23, 4), ends=(2026, 11, 24, 12))
    assert states(person) == [CheckState.CANCELLED]


def test_a_later_absence_leaves_the_check_due_now(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Sedan", personnummer=TEST_PERSONNUMMER[0], times=[time(23), time(2)])
    other = make_person(home, "Annan", personnummer=TEST_PERSONNUMMER[1], times=[time(23)], consent=False)
    worker = NightWorker("t")
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    away(home, person, starts=(2026, 11, 24, 1, 0), ends=(2026, 11, 24, 12))  # still home until 01:00
    assert states(person) == [CheckState.DUE, CheckState.CANCELLED]
    # Another person's visit is not touched.
    assert Escalation.objects.get(person=other).state == EscalationState.OPEN
    assert Check.objects.get(person=other, night="2026-11-23").form == CheckForm.PHYSICAL


def test_skip_tonight_cancels_the_check_due_now_and_the_visit_with_the_patrol(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:

    camera = make_person(home, "Kamera", personnummer=TEST_PERSONNUMMER[0], times=[time(23)])
    visit = make_person(home, "Besök", personnummer=TEST_PERSONNUMMER[1], times=[time(23)], consent=False)
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 3))
    client.force_login(home.user(Role.SHIFT_LEAD))
    for person in (camera, visit):
        response = client.post(reverse("people:skip-tonight", args=[person.id]), {"note": "Sover hos dottern"})
        assert response.status_code == 302
        assert states(person) == [CheckState.CANCELLED]
    assert Escalation.objects.get(person=visit).result == EscalationResult.CANCELLED_ABSENCE
