"""A camera is probed again five minutes before each camera check, so a fault in the
last ten minutes is found before the check is due."""

from __future__ import annotations

from datetime import UTC, time

import pytest

from cameras.health import ProbeResult
from cameras.models import Camera
from checks.engine import NightWorker
from checks.models import Check, CheckState, Escalation, EscalationCause
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


class FakeProber:
    def __init__(self) -> None:
        self.faulty: set[int] = set()
        self.probed: list[tuple[int, str]] = []
        self.clock: FakeClock | None = None

    def __call__(self, camera: Camera) -> ProbeResult:
        assert self.clock is not None
        self.probed.append((camera.id, self.clock().astimezone(UTC).strftime("%H:%M")))
        return ProbeResult(False, "router_down") if camera.id in self.faulty else ProbeResult(True, "")


def minute_by_minute(worker: NightWorker, fake_clock: FakeClock, until: tuple[int, int]) -> None:
    """Tick every minute up to ``until`` (Stockholm time, 23 November)."""
    while fake_clock().astimezone(UTC) <= at_stockholm(2026, 11, 23, *until).astimezone(UTC):
        worker.tick(fake_clock())
        fake_clock.advance(minutes=1)


def test_a_camera_failing_after_its_last_routine_probe_is_found_before_the_check(
    home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Sen", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    prober = FakeProber()
    prober.clock = fake_clock
    worker = NightWorker("t", camera_prober=prober)
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 30))
    minute_by_minute(worker, fake_clock, (22, 51))  # routine probes at 22:30, 22:40, 22:50
    prober.faulty.add(person.camera.id)  # breaks at 22:52, after the last routine probe
    minute_by_minute(worker, fake_clock, (23, 0))
    # UTC: 22:55 local is 21:55. The pre-check fails, its retry a minute later confirms it.
    assert [at for _camera, at in prober.probed] == ["21:30", "21:40", "21:50", "21:55", "21:56"]
    check = Check.objects.get(person=person, night="2026-11-23")
    assert check.state == CheckState.ESCALATED and check.camera_fault == "router_down"
    escalation = Escalation.objects.get(night_check=check)
    assert escalation.cause == EscalationCause.TECHNICAL_FAULT
    assert escalation.created_at == at_stockholm(2026, 11, 23, 22, 56)  # four minutes before it was due


def test_a_working_camera_gets_one_pre_check_probe(home: Municipality, fake_clock: FakeClock) -> None:
    make_person(home, "Hel", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    prober = FakeProber()
    prober.clock = fake_clock
    worker = NightWorker("t", camera_prober=prober)
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 48))  # first probe 22:48, so 22:55 is within the period
    minute_by_minute(worker, fake_clock, (23, 2))
    assert [at for _camera, at in prober.probed] == ["21:48", "21:55"]
    assert not Escalation.objects.exists()


def test_a_pre_check_probe_that_recovers_sends_nobody(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Blink", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    prober = FakeProber()
    prober.clock = fake_clock
    worker = NightWorker("t", camera_prober=prober)
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 50))
    minute_by_minute(worker, fake_clock, (22, 54))
    prober.faulty.add(person.camera.id)
    minute_by_minute(worker, fake_clock, (22, 55))  # the pre-check probe fails once
    prober.faulty.clear()
    minute_by_minute(worker, fake_clock, (23, 0))
    assert [at for _camera, at in prober.probed] == ["21:50", "21:55", "21:56"]
    assert not Escalation.objects.exists()
    assert Check.objects.get(person=person, night="2026-11-23").state == CheckState.DUE
