from __future__ import annotations

from datetime import date, time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checks.engine import NightWorker
from checks.models import Alarm, AlarmKind, Check, CheckState, NightReconciliation
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


def test_the_worker_reconciles_a_finished_night(home: Municipality, fake_clock: FakeClock) -> None:
    make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0), time(5, 0)])
    worker = NightWorker("t")
    fake_clock.set(at_stockholm(2026, 11, 23, 21, 0))
    while fake_clock() < at_stockholm(2026, 11, 24, 12, 1):
        worker.tick(fake_clock())
        fake_clock.advance(minutes=10)
    reconciliation = NightReconciliation.objects.get(tenant=home.tenant, night=date(2026, 11, 23))
    assert reconciliation.checks_total == 2
    assert reconciliation.end_states == {"escalated": 2}  # nobody looked: both escalated as missed
    assert reconciliation.incident_check_ids == []
    assert not Alarm.objects.filter(kind=AlarmKind.UNENDED_CHECK).exists()


def test_a_check_left_open_is_an_incident_for_the_shift_lead(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    NightWorker("t").tick(fake_clock())
    # As if a worker had been down all night: the check never moved.
    fake_clock.set(at_stockholm(2026, 11, 24, 13, 0))
    with pytest.raises(CommandError, match="1 check"):
        call_command("reconcile_night", "--night", "2026-11-23")
    check = Check.objects.get(person=person, night=date(2026, 11, 23))
    assert check.state == CheckState.PLANNED
    assert Alarm.objects.filter(kind=AlarmKind.UNENDED_CHECK, night_check=check).count() == 1
    with pytest.raises(CommandError):
        call_command("reconcile_night", "--night", "2026-11-23")
    assert Alarm.objects.filter(kind=AlarmKind.UNENDED_CHECK).count() == 1  # raised once


def test_a_bad_night_argument_is_explained(db: None) -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("reconcile_night", "--night", "igår")
