"""Planning: each night once, then only what changed; the form is settled at due time."""

from __future__ import annotations

from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cameras.actions import record_installation_test
from checks.actions.agreements import save_agreement
from checks.engine import NightWorker
from checks.models import Check, CheckForm, CheckState
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


def first_check(person):  # type: ignore[no-untyped-def]
    return Check.objects.filter(person=person).order_by("scheduled_at").first()


def test_a_time_added_during_the_evening_is_planned_on_the_next_tick(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    worker = NightWorker("t")
    worker.tick(fake_clock())
    fake_clock.advance(minutes=5)
    save_agreement(
        person,
        actor=home.user(Role.PLANNER),
        retry_delay_min=15,
        notes="",
        times=[(time(23, 0), CheckForm.CAMERA), (time(22, 30), CheckForm.CAMERA)],
        escalation_steps=[],
    )
    worker.tick(fake_clock())
    tonight = Check.objects.filter(person=person, night="2026-11-23").order_by("scheduled_at")
    assert [c.scheduled_at for c in tonight] == [at_stockholm(2026, 11, 23, 22, 30), at_stockholm(2026, 11, 23, 23)]


def test_an_idle_tick_does_not_scan_the_persons_again(home: Municipality, fake_clock: FakeClock) -> None:
    for index in range(3):
        make_person(home, f"P{index}", personnummer=TEST_PERSONNUMMER[index], times=[time(23, 0)])
    worker = NightWorker("t")
    worker.tick(fake_clock())
    fake_clock.advance(seconds=2)
    worker.tick(fake_clock())  # a change at the very instant of planning is looked at once more
    fake_clock.advance(seconds=2)
    with CaptureQueriesContext(connection) as idle:
        worker.tick(fake_clock())
    assert not [q["sql"] for q in idle.captured_queries if 'FROM "people_decision"' in q["sql"]]
    # A fixed cost per tick, whatever the number of persons (each step's claim query, the
    # readying of due cameras, the refusal counts, the heartbeat).
    assert len(idle.captured_queries) < 75


def test_a_camera_tested_after_planning_makes_tonights_check_a_camera_check(
    home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)], tested=False)
    worker = NightWorker("t")
    worker.tick(fake_clock())
    assert first_check(person).form == CheckForm.PHYSICAL
    record_installation_test(
        person.camera, actor=home.user(Role.INSTALLER), operator=home.user(Role.OPERATOR), passed=True
    )
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    check = first_check(person)
    assert check.form == CheckForm.CAMERA and check.state == CheckState.DUE


def test_a_camera_check_with_consent_withdrawn_before_planning_becomes_a_visit(
    home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)], consent=False)
    worker = NightWorker("t")
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    worker.tick(fake_clock())
    check = first_check(person)
    assert check.form == CheckForm.PHYSICAL and check.form_note == "no_valid_consent"
    assert check.state == CheckState.VISIT_PENDING
