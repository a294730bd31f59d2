"""The plan keeps every agreed time across the daylight-saving changes (checks.nights)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from checks.actions.agreements import save_agreement
from checks.actions.planning import plan_night
from checks.models import AgreedTime, Check, CheckForm
from nattillsyn.clock import STOCKHOLM, FakeClock
from nattillsyn.errors import ActionRefused
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db

SPRING = date(2026, 3, 28)  # clocks go 02:00 → 03:00 on the morning of 29 March
AUTUMN = date(2026, 10, 24)  # clocks go 03:00 → 02:00 on the morning of 25 October


def local_readings(person_id: int, night: date) -> list[str]:
    checks = Check.objects.filter(person_id=person_id, night=night).order_by("scheduled_at")
    return [check.scheduled_at.astimezone(STOCKHOLM).strftime("%H:%M %Z") for check in checks]


def plan(municipality: Municipality, night: date, fake_clock: FakeClock) -> int:
    return plan_night(municipality.tenant, night, now=fake_clock())


def planned_entries(night: date) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.CHECKS_PLANNED, detail__night=str(night), person=None))


def test_it_keeps_four_agreed_times_around_the_skipped_hour(home: Municipality, fake_clock: FakeClock) -> None:
    fake_clock.set(at_stockholm(2026, 3, 28, 13, 0))
    times = [time(2, 0), time(2, 30), time(3, 0), time(3, 30)]
    person = make_person(home, "Vår", personnummer=TEST_PERSONNUMMER[0], times=times)
    assert plan(home, SPRING, fake_clock) == 4
    # 02:00 and 02:30 would land on 03:00 and 03:30: spread in the hour before the change.
    assert local_readings(person.id, SPRING) == ["01:20 CET", "01:40 CET", "03:00 CEST", "03:30 CEST"]
    [entry] = planned_entries(SPRING)
    assert entry.detail["checks"] == Check.objects.filter(night=SPRING).count() == 4
    moved = AuditEntry.objects.get(action=AuditAction.CHECKS_PLANNED, person=person)
    assert moved.detail["reason"] == "clock_change"
    assert moved.detail["moved"] == {
        "02:00": datetime(2026, 3, 29, 0, 20, tzinfo=UTC).isoformat(),
        "02:30": datetime(2026, 3, 29, 0, 40, tzinfo=UTC).isoformat(),
    }


def test_it_moves_a_skipped_time_forward_by_the_gap_when_that_keeps_the_order(
    home: Municipality, fake_clock: FakeClock
) -> None:
    fake_clock.set(at_stockholm(2026, 3, 28, 13, 0))
    person = make_person(home, "Fram", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0), time(2, 30), time(5)])
    assert plan(home, SPRING, fake_clock) == 3
    assert local_readings(person.id, SPRING) == ["23:00 CET", "03:30 CEST", "05:00 CEST"]


def test_hourly_checks_keep_a_check_for_the_skipped_hour(home: Municipality, fake_clock: FakeClock) -> None:
    fake_clock.set(at_stockholm(2026, 3, 28, 13, 0))
    times = [time(0), time(1), time(2), time(3), time(4)]
    person = make_person(home, "Timvis", personnummer=TEST_PERSONNUMMER[0], times=times)
    other = make_person(home, "Granne", personnummer=TEST_PERSONNUMMER[1], times=[time(2), time(5)])
    assert plan(home, SPRING, fake_clock) == 7
    assert local_readings(person.id, SPRING) == ["00:00 CET", "01:00 CET", "01:30 CET", "03:00 CEST", "04:00 CEST"]
    # Another person's 02:00 is placed by their own times, not by their neighbour's.
    assert local_readings(other.id, SPRING) == ["03:00 CEST", "05:00 CEST"]
    [entry] = planned_entries(SPRING)
    assert entry.detail["checks"] == Check.objects.filter(night=SPRING).count()


def test_the_autumn_night_keeps_every_time_at_its_first_reading(home: Municipality, fake_clock: FakeClock) -> None:
    fake_clock.set(at_stockholm(2026, 10, 24, 13, 0))
    times = [time(2, 0), time(2, 30), time(3, 0), time(3, 30)]
    person = make_person(home, "Höst", personnummer=TEST_PERSONNUMMER[0], times=times)
    assert plan(home, AUTUMN, fake_clock) == 4
    assert local_readings(person.id, AUTUMN) == ["02:00 CEST", "02:30 CEST", "03:00 CET", "03:30 CET"]
    [entry] = planned_entries(AUTUMN)
    assert entry.detail["checks"] == 4
    assert not AuditEntry.objects.filter(action=AuditAction.CHECKS_PLANNED, person=person).exists()


def test_an_agreement_without_room_in_the_spring_night_is_refused(home: Municipality, fake_clock: FakeClock) -> None:
    fake_clock.set(at_stockholm(2026, 12, 2, 13, 0))
    person = make_person(home, "Tät", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    planner = home.user(Role.PLANNER)
    times = [(time(1, 59), CheckForm.CAMERA), (time(2, 0), CheckForm.CAMERA), (time(3, 0), CheckForm.CAMERA)]
    with pytest.raises(ActionRefused, match="2027-03-28") as refusal:
        save_agreement(person, actor=planner, retry_delay_min=15, notes="", times=times, escalation_steps=[])
    assert "02:00" in str(refusal.value)
    assert list(AgreedTime.objects.filter(agreement__person=person).values_list("time", flat=True)) == [time(23, 0)]
    # With a minute free between the neighbours, the same kind of agreement is kept.
    times[0] = (time(1, 58), CheckForm.CAMERA)
    save_agreement(person, actor=planner, retry_delay_min=15, notes="", times=times, escalation_steps=[])


def test_an_old_agreement_without_room_is_still_planned_in_full(home: Municipality, fake_clock: FakeClock) -> None:
    fake_clock.set(at_stockholm(2026, 3, 28, 13, 0))
    person = make_person(home, "Gammal", personnummer=TEST_PERSONNUMMER[0], times=[time(1, 59), time(3, 0)])
    # Saved before the rule (straight into the table): no whole minute is free for 02:00.
    AgreedTime.objects.create(
        agreement=person.agreement, time=time(2, 0), form=CheckForm.CAMERA, created_at=fake_clock()
    )
    assert plan(home, SPRING, fake_clock) == 3
    instants = list(Check.objects.filter(person=person).order_by("scheduled_at").values_list("scheduled_at", flat=True))
    assert len(set(instants)) == 3
    assert instants[1] == datetime(2026, 3, 29, 0, 59, 30, tzinfo=UTC)


def test_the_planned_count_is_the_rows_inserted(home: Municipality, fake_clock: FakeClock) -> None:
    from django.db import transaction

    from checks.actions.persistence import insert_checks

    fake_clock.set(at_stockholm(2026, 3, 28, 13, 0))
    person = make_person(home, "Räknad", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    row = (person.id, None, datetime(2026, 3, 28, 22, tzinfo=UTC), "camera", "", "planned", fake_clock(), None, "")
    with transaction.atomic():
        assert insert_checks(home.tenant, SPRING, [row]) == 1
    with transaction.atomic():
        assert insert_checks(home.tenant, SPRING, [row]) == 0  # planned already: not counted again


def test_a_time_added_after_planning_moves_the_skipped_check_to_its_new_place(
    home: Municipality, fake_clock: FakeClock
) -> None:
    from checks.engine import NightWorker

    fake_clock.set(at_stockholm(2026, 3, 28, 13, 0))
    person = make_person(home, "Ändrad", personnummer=TEST_PERSONNUMMER[0], times=[time(1), time(2), time(3)])
    worker = NightWorker("t")
    worker.tick(fake_clock())
    assert local_readings(person.id, SPRING) == ["01:00 CET", "01:30 CET", "03:00 CEST"]
    fake_clock.advance(minutes=10)
    times = [(agreed, CheckForm.CAMERA) for agreed in (time(1), time(1, 30), time(2), time(3))]
    save_agreement(
        person, actor=home.user(Role.PLANNER), retry_delay_min=15, notes="", times=times, escalation_steps=[]
    )
    worker.tick(fake_clock())
    # 02:00 now lies between 01:30 and 03:00 summer time; 01:30 gets its own check.
    checks = Check.objects.filter(person=person, night=SPRING).order_by("scheduled_at").select_related("agreed_time")
    assert [
        (f"{c.agreed_time.time:%H:%M}", c.scheduled_at.astimezone(STOCKHOLM).strftime("%H:%M")) for c in checks
    ] == [
        ("01:00", "01:00"),
        ("01:30", "01:30"),
        ("02:00", "01:45"),
        ("03:00", "03:00"),
    ]
    moved = AuditEntry.objects.filter(action=AuditAction.CHECKS_PLANNED, person=person).order_by("id")
    assert [entry.detail["moved"] for entry in moved] == [
        {"02:00": datetime(2026, 3, 29, 0, 30, tzinfo=UTC).isoformat()},
        {"02:00": datetime(2026, 3, 29, 0, 45, tzinfo=UTC).isoformat()},
    ]
