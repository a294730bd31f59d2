"""Camera faults are found before the check is due, and escalate early."""

from __future__ import annotations

from datetime import time

import pytest

from cameras.health import ProbeResult
from cameras.models import Camera
from checks.engine import NightWorker
from checks.models import Alarm, AlarmKind, Check, CheckState, Escalation, EscalationCause
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


class FakeProber:
    def __init__(self, faulty: set[int]) -> None:
        self.faulty = faulty
        self.probed: list[int] = []

    def __call__(self, camera: Camera) -> ProbeResult:
        self.probed.append(camera.id)
        if camera.id in self.faulty:
            return ProbeResult(False, "router_down")
        return ProbeResult(True, "")


def test_a_camera_fault_escalates_the_coming_check_before_it_is_due(home: Municipality, fake_clock: FakeClock) -> None:
    broken = make_person(home, "Bruten", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0), time(2, 0)])
    working = make_person(home, "Hel", personnummer=TEST_PERSONNUMMER[1], times=[time(23, 0)])
    prober = FakeProber(faulty={broken.camera.id})
    worker = NightWorker("t", camera_prober=prober)
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 0))
    worker.tick(fake_clock())
    assert prober.probed == []  # nothing due within 30 minutes yet: cameras are left alone
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 34))
    worker.tick(fake_clock())
    assert sorted(prober.probed) == sorted([broken.camera.id, working.camera.id])
    assert not Escalation.objects.exists()  # one failed probe is not yet a fault
    fake_clock.advance(minutes=1)
    worker.tick(fake_clock())
    assert prober.probed.count(broken.camera.id) == 2 and prober.probed.count(working.camera.id) == 1
    eleven, two = Check.objects.filter(person=broken).order_by("scheduled_at")[:2]
    assert eleven.state == CheckState.ESCALATED and eleven.camera_fault == "router_down"
    assert two.state == CheckState.PLANNED  # not within the horizon yet; probed again nearer the time
    escalation = Escalation.objects.get(night_check=eleven)
    assert escalation.cause == EscalationCause.TECHNICAL_FAULT
    assert escalation.created_at < eleven.scheduled_at  # confirmed 25 minutes early
    assert Alarm.objects.filter(kind=AlarmKind.CAMERA_FAULT).count() == 1
    assert Check.objects.filter(person=working).order_by("scheduled_at").first().state == CheckState.PLANNED


def test_a_camera_is_probed_at_most_every_ten_minutes(home: Municipality, fake_clock: FakeClock) -> None:
    make_person(home, "Hel", personnummer=TEST_PERSONNUMMER[1], times=[time(23, 0)])
    prober = FakeProber(faulty=set())
    worker = NightWorker("t", camera_prober=prober)
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 40))
    for _ in range(5):
        worker.tick(fake_clock())
        fake_clock.advance(minutes=2)
    assert len(prober.probed) == 1
    fake_clock.advance(minutes=1)
    worker.tick(fake_clock())
    assert len(prober.probed) == 2


def test_a_camera_that_recovers_before_the_second_probe_sends_nobody(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Blinkande", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    prober = FakeProber(faulty={person.camera.id})
    worker = NightWorker("t", camera_prober=prober)
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 40))
    worker.tick(fake_clock())
    prober.faulty.clear()  # the 4G link came back
    fake_clock.advance(minutes=1)
    worker.tick(fake_clock())
    assert not Escalation.objects.exists()
    assert Camera.objects.get(id=person.camera.id).probe_failures == 0
