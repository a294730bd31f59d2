"""A camera that accepts the connection and never answers must not hang the worker:
every ONVIF call ends at its hard timeout, as a recorded camera fault."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Role
from cameras import onvif
from cameras.models import Camera, CameraDriverKind, CameraProblem, ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port whose connections are accepted by the kernel and never answered."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]
    onvif.forget_connections()


def test_a_silent_camera_costs_the_tick_at_most_its_timeout(
    black_hole: int, home: Municipality, fake_clock: FakeClock, settings: Any
) -> None:
    settings.ONVIF_REQUEST_TIMEOUT_S = 1
    settings.ONVIF_MOVE_TIMEOUT_S = 1
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    Camera.objects.filter(person=person).update(
        driver=CameraDriverKind.ONVIF_PTZ,
        onvif_address=f"127.0.0.1:{black_hole}",
        onvif_profile="main",
        view_preset="view",
        privacy_preset="privacy",
    )
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    actions.open_check(Check.objects.get(state="due"), actor=home.user(Role.OPERATOR))
    fake_clock.advance(minutes=5)  # the grant is past its end: the camera must go back

    started = time.monotonic()
    NightWorker("t").tick(fake_clock())
    took = time.monotonic() - started

    # One move (1 s + 2 s for its requests) and perhaps one status probe (1 s + 1 s).
    assert took < 7, f"the tick took {took:.1f} s"
    camera = Camera.objects.get(person=person)
    assert camera.last_probe_ok is False
    assert camera.last_probe_problem.startswith(CameraProblem.DEVICE_TIMEOUT)
    assert ViewGrant.objects.filter(camera=camera).exists()
