"""The worker's bulk planning forecasts each check's form exactly as the privacy rules
(cameras.policy) would for that person at that time, and a full plan commits whole."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import connection, transaction

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.actions import record_installation_test
from cameras.models import Camera
from cameras.policy import camera_allowed_for_person
from checks.engine import NightWorker
from checks.models import Check, CheckForm, CheckState
from checks.nights import night_of
from checks.tests.test_worker_concurrency import personnummer
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person
from people.actions import register_consent, withdraw_consent
from people.models import ConsentMethod, Person

pytestmark = pytest.mark.django_db


def test_the_planned_form_is_what_the_rules_say_for_every_kind_of_person(
    home: Municipality, fake_clock: FakeClock
) -> None:
    numbers = iter(personnummer(8))
    planner = home.user(Role.PLANNER)
    make_person(home, "Ok", personnummer=next(numbers))
    make_person(home, "No consent", personnummer=next(numbers), consent=False)
    make_person(home, "Untested", personnummer=next(numbers), tested=False)
    make_person(home, "No camera", personnummer=next(numbers), with_camera=False)
    withdrawn = make_person(home, "Withdrawn", personnummer=next(numbers))
    withdraw_consent(withdrawn.consents.get(), actor=planner)
    # A trial consent that ends with today: the evening's check by camera, the night's by visit.
    trial = make_person(home, "Trial", personnummer=next(numbers), consent=False)
    today = clock.day_of(fake_clock())
    register_consent(
        trial,
        actor=planner,
        given_by="Trial",
        method=ConsentMethod.ORAL,
        given_at=fake_clock() - timedelta(days=1),
        valid_until=today,
    )
    # A camera tested with one person and then moved to another has not been tested there.
    moved_from = make_person(home, "Moved from", personnummer=next(numbers))
    moved_to = make_person(home, "Moved to", personnummer=next(numbers), with_camera=False)
    Camera.objects.filter(person=moved_from).update(person=moved_to)

    NightWorker("t").tick(fake_clock())

    checks = Check.objects.filter(night=today).select_related("person")
    assert checks.count() == 8 * 3
    seen = set()
    for check in checks:
        person = Person.objects.get(id=check.person_id)  # fresh, as the rules see it
        refusal = camera_allowed_for_person(person, check.scheduled_at)
        expected = (CheckForm.CAMERA, "") if refusal is None else (CheckForm.PHYSICAL, refusal)
        assert (check.form, check.form_note) == expected, check.person.name
        seen.add(refusal)
    assert seen == {None, "no_valid_consent", "camera_not_tested", "no_camera"}
    assert {c.form for c in checks.filter(person=trial)} == {CheckForm.CAMERA, CheckForm.PHYSICAL}


def test_a_camera_tested_before_a_later_failed_test_is_not_tested(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Retested", personnummer=personnummer(1)[0])
    fake_clock.advance(minutes=1)
    record_installation_test(
        person.camera, actor=home.user(Role.INSTALLER), operator=home.user(Role.OPERATOR), passed=False
    )
    NightWorker("t").tick(fake_clock())
    assert {c.form_note for c in Check.objects.filter(person=person)} == {"camera_not_tested"}


def test_a_full_plan_writes_one_audit_entry_per_night(home: Municipality, fake_clock: FakeClock) -> None:
    for index, number in enumerate(personnummer(5)):
        make_person(home, f"P{index}", personnummer=number)
    NightWorker("t").tick(fake_clock())
    NightWorker("t").tick(fake_clock())
    entries = AuditEntry.objects.filter(action=AuditAction.CHECKS_PLANNED).order_by("id")
    assert [entry.detail["checks"] for entry in entries] == [15, 15]
    assert Check.objects.filter(state=CheckState.PLANNED).count() == 30


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_checks_planned_meanwhile_are_skipped_not_doubled(home: Municipality, fake_clock: FakeClock) -> None:
    from checks.actions.persistence import insert_checks

    person = make_person(home, "Race", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0), time(2, 0)])
    night = night_of(fake_clock())
    rows = [
        (person.id, None, at_stockholm(2026, 11, 23, 23, 0), "camera", "", "planned", fake_clock(), None, ""),
        (person.id, None, at_stockholm(2026, 11, 24, 2, 0), "camera", "", "planned", fake_clock(), None, ""),
    ]
    with transaction.atomic():
        assert insert_checks(home.tenant, night, rows[:1]) == 1  # another worker, a moment before
    with transaction.atomic():
        assert insert_checks(home.tenant, night, rows) == 1  # the COPY conflicts; the fallback adds the rest
    assert Check.objects.filter(person=person).count() == 2
