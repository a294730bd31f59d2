"""The privacy reconciler: every camera nothing covers is driven to its privacy position
and verified there, whatever took it out (start-up, re-pointing, a hand, a dead worker)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras import actions as camera_actions
from cameras import privacy
from cameras.drivers import CameraDriver, CameraStatus
from cameras.models import Camera, CameraDriverKind, CameraProblem, ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person, make_training_camera

pytestmark = pytest.mark.django_db


class Devices:
    """Fake camera devices by stream address: where each faces, and what was asked."""

    def __init__(self) -> None:
        self.in_privacy: dict[str, bool] = {}
        self.stuck: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.during_status: list[object] = []  # run inside a status call (a second worker)

    def driver(self, camera: Camera) -> CameraDriver:
        devices = self

        class Driver(CameraDriver):
            supports_privacy = camera.driver == CameraDriverKind.SIMULATED

            def open_view(self) -> None:
                devices.calls.append((camera.stream_url, "open"))
                if camera.stream_url not in devices.stuck:
                    devices.in_privacy[camera.stream_url] = False

            def close_view(self) -> None:
                devices.calls.append((camera.stream_url, "close"))
                if camera.stream_url not in devices.stuck:
                    devices.in_privacy[camera.stream_url] = True

            def status(self) -> CameraStatus:
                devices.calls.append((camera.stream_url, "status"))
                while devices.during_status:
                    devices.during_status.pop()()  # type: ignore[operator]
                return CameraStatus(True, devices.in_privacy.get(camera.stream_url, False))

        return Driver(camera)


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> Devices:
    fake = Devices()
    # save_camera drives the old device with the drivers of the real code path.
    monkeypatch.setattr(privacy, "driver_for", fake.driver)
    monkeypatch.setattr(camera_actions, "driver_for", fake.driver)
    monkeypatch.setattr(camera_actions.gateway_client, "prepare", lambda token, url, **where: None)
    return fake


@pytest.fixture
def cameras(home: Municipality, fake_clock: FakeClock) -> list[Camera]:
    """Two persons' cameras and the training camera, all out of privacy at start-up."""
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 50))
    for index in range(2):
        make_person(home, f"P{index}", personnummer=TEST_PERSONNUMMER[index], camera_url=f"rtsp://h/cam{index}")
    make_training_camera(home)
    return list(Camera.objects.order_by("id"))


def guard(devices: Devices, now: object) -> int:
    """The worker's privacy step (cameras verified in privacy)."""
    return NightWorker("t", privacy_driver=devices.driver).guard_privacy(now)  # type: ignore[arg-type]


def reconcile(devices: Devices, now: datetime) -> privacy.PrivacyReport:
    """One pass of the reconciler itself, as one worker runs it."""
    return privacy.reconcile_privacy(now, driver_for=devices.driver)


def open_a_due_check(
    home: Municipality,
    devices: Devices,
    fake_clock: FakeClock,
    opening: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> Check:
    """Start-up's pass, then at 23:00 the worker makes tonight's first checks due and the
    operator opens one (inside ``opening``)."""
    guard(devices, fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.filter(state="due").first()
    assert check is not None
    with opening():
        actions.open_check(check, actor=home.user(Role.OPERATOR))
    return check


def repoint(home: Municipality, camera: Camera, stream_url: str) -> None:
    """The installer gives the camera another device's address."""
    camera_actions.save_camera(camera, actor=home.user(Role.INSTALLER), tenant=home.tenant, stream_url=stream_url)


def test_it_brings_every_camera_to_privacy_at_start_up(
    cameras: list[Camera], devices: Devices, fake_clock: FakeClock
) -> None:
    assert len(cameras) == 3 and any(camera.training_only for camera in cameras)
    assert guard(devices, fake_clock()) == 3
    assert all(devices.in_privacy[camera.stream_url] for camera in cameras)
    assert AuditEntry.objects.filter(action=AuditAction.CAMERA_FAULT, detail__restored=True).count() == 3
    assert not Camera.objects.filter(privacy_verified_at__isnull=True).exists()


def test_a_verified_camera_is_asked_again_only_after_the_period(
    cameras: list[Camera], devices: Devices, fake_clock: FakeClock
) -> None:
    guard(devices, fake_clock())
    devices.calls.clear()
    fake_clock.advance(seconds=privacy.VERIFY_EVERY.total_seconds() - 2)
    guard(devices, fake_clock())
    assert devices.calls == []
    devices.in_privacy[cameras[0].stream_url] = False  # somebody turned it by hand
    fake_clock.advance(seconds=2)
    assert guard(devices, fake_clock()) == 1
    assert devices.in_privacy[cameras[0].stream_url]
    assert [call for _url, call in devices.calls].count("status") == 3 + 1  # three asked, one asked again


def test_a_covered_camera_is_left_in_view_and_returned_at_once_when_the_grant_ends(
    home: Municipality, cameras: list[Camera], devices: Devices, fake_clock: FakeClock
) -> None:
    check = open_a_due_check(home, devices, fake_clock)
    url = check.person.camera.stream_url
    devices.in_privacy[url] = False  # the view
    guard(devices, fake_clock())
    assert devices.in_privacy[url] is False
    fake_clock.advance(seconds=5)
    ViewGrant.objects.update(ended_at=fake_clock())  # the gateway reports the end
    assert guard(devices, fake_clock()) == 1  # at once, not after the period
    assert devices.in_privacy[url]
    # A return after a view is no finding: only the three at start-up are audited.
    assert AuditEntry.objects.filter(action=AuditAction.CAMERA_FAULT, detail__restored=True).count() == 3


def test_re_pointing_returns_the_old_device_and_revokes_the_grants(
    home: Municipality, cameras: list[Camera], devices: Devices, fake_clock: FakeClock
) -> None:
    check = open_a_due_check(home, devices, fake_clock)
    camera = Camera.objects.get(person=check.person)
    old_url = camera.stream_url
    devices.in_privacy[old_url] = False  # the operator's view
    devices.in_privacy["rtsp://h/new"] = False  # the new device, as unpacked
    camera.stream_url = "rtsp://h/new"  # the form changes the instance before the action runs
    repoint(home, camera, "rtsp://h/new")
    assert devices.in_privacy[old_url] is True  # the other person's camera
    assert ViewGrant.objects.get().revoke_reason == "camera_repointed"
    entry = AuditEntry.objects.filter(action=AuditAction.CAMERA_CHANGED).latest("id")
    assert entry.detail["repointed"]["stream_url"] == {"old": old_url, "new": "rtsp://h/new"}
    assert entry.detail["old_device_in_privacy"] is True
    guard(devices, fake_clock())  # the new device at the next pass
    assert devices.in_privacy["rtsp://h/new"] is True


def test_a_camera_that_does_not_move_is_a_camera_fault(
    cameras: list[Camera], devices: Devices, fake_clock: FakeClock
) -> None:
    stuck = cameras[0]
    devices.stuck.add(stuck.stream_url)
    guard(devices, fake_clock())
    closes = [call for url, call in devices.calls if url == stuck.stream_url and call == "close"]
    assert len(closes) == privacy.ATTEMPTS
    stuck.refresh_from_db()
    assert stuck.probe_failures == 1 and stuck.last_probe_problem == CameraProblem.PRIVACY_NOT_REACHED
    devices.calls.clear()
    guard(devices, fake_clock())  # held back for RETRY_AFTER_FAILURE, not hammered every tick
    assert devices.calls == []
    fake_clock.advance(seconds=privacy.RETRY_AFTER_FAILURE.total_seconds())
    guard(devices, fake_clock())
    fault = AuditEntry.objects.get(action=AuditAction.CAMERA_FAULT, detail__problem=CameraProblem.PRIVACY_NOT_REACHED)
    assert fault.person_id == stuck.person_id


def test_two_workers_never_drive_the_same_camera(
    cameras: list[Camera], devices: Devices, fake_clock: FakeClock
) -> None:
    """While the first worker asks a camera (holding its lease), a second one runs a full
    pass: it takes the other cameras and leaves the leased one alone."""
    second: list[privacy.PrivacyReport] = []
    devices.during_status.append(lambda: second.append(reconcile(devices, fake_clock())))
    first = reconcile(devices, fake_clock())
    assert first.verified + second[0].verified == 3
    assert first.verified == 1 and second[0].verified == 2
    per_camera = [url for url, call in devices.calls if call == "close"]
    assert sorted(per_camera) == sorted({camera.stream_url for camera in cameras})  # each closed once


def test_a_worker_that_died_holding_a_lease_delays_the_camera_by_the_lease_only(
    cameras: list[Camera], devices: Devices, fake_clock: FakeClock
) -> None:
    Camera.objects.update(privacy_lease_until=fake_clock() + privacy.LEASE)  # kill -9 mid-pass
    assert reconcile(devices, fake_clock()).verified == 0
    fake_clock.advance(seconds=privacy.LEASE.total_seconds())
    assert reconcile(devices, fake_clock()).verified == 3


def test_a_camera_without_a_privacy_position_is_not_driven(
    cameras: list[Camera], devices: Devices, fake_clock: FakeClock, home: Municipality
) -> None:
    Camera.objects.filter(id=cameras[0].id).update(driver=CameraDriverKind.GENERIC_RTSP)
    guard(devices, fake_clock())
    assert all(url != cameras[0].stream_url for url, _call in devices.calls)
    assert timedelta(0) <= fake_clock() - Camera.objects.get(id=cameras[0].id).privacy_verified_at  # type: ignore[operator]


def test_real_simulated_cameras_converge_and_a_re_pointed_one_leaves_the_old_device_in_privacy(
    home: Municipality, fake_clock: FakeClock, settings: object
) -> None:
    """The real driver against the simulated cameras' control API (they start out of privacy)."""
    from cameras.drivers import driver_for
    from simcam.tests.test_simcam import start_simulator

    simulator = start_simulator("--size", "64x64", "--fps", "1", cameras={"p1": "asleep", "spare": "asleep"})
    try:
        settings.SIMCAM_API_URL = f"http://127.0.0.1:{simulator.api_port}"  # type: ignore[attr-defined]
        person = make_person(
            home, "P", personnummer=TEST_PERSONNUMMER[0], camera_url=f"rtsp://127.0.0.1:{simulator.rtsp_port}/p1"
        )

        def positions() -> dict[str, bool]:
            return {camera["name"]: camera["privacy"] for camera in simulator.api("GET", "/cameras")[1]}

        assert positions() == {"p1": False, "spare": False}
        NightWorker("t", privacy_driver=driver_for).guard_privacy(fake_clock())
        assert positions()["p1"] is True
        camera = Camera.objects.get(person=person)
        driver_for(camera).open_view()  # a view running when the installer re-points it
        repoint(home, camera, f"rtsp://127.0.0.1:{simulator.rtsp_port}/spare")
        assert positions()["p1"] is True
        NightWorker("t", privacy_driver=driver_for).guard_privacy(fake_clock())
        assert positions() == {"p1": True, "spare": True}
    finally:
        simulator.stop()


def test_a_view_the_gateway_reports_ended_is_verified_at_the_next_pass(
    home: Municipality,
    cameras: list[Camera],
    devices: Devices,
    fake_clock: FakeClock,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    check = open_a_due_check(home, devices, fake_clock, lambda: django_capture_on_commit_callbacks(execute=True))
    url = check.person.camera.stream_url
    assert devices.in_privacy[url] is False
    devices.stuck.add(url)  # the close the gateway's report sends is lost
    with django_capture_on_commit_callbacks(execute=True):
        camera_actions.record_view_event(str(ViewGrant.objects.get().gid), event="ended", at=fake_clock())
    devices.stuck.clear()
    devices.calls.clear()
    guard(devices, fake_clock())  # not 30 s later
    assert devices.in_privacy[url] is True
    assert (url, "status") in devices.calls


def test_a_camera_re_pointed_while_a_worker_verifies_it_is_asked_again(
    home: Municipality, cameras: list[Camera], devices: Devices, fake_clock: FakeClock
) -> None:
    first = cameras[0]
    Camera.objects.exclude(id=first.id).update(privacy_verified_at=fake_clock())
    devices.in_privacy["rtsp://h/new"] = False

    devices.during_status.append(lambda: repoint(home, Camera.objects.get(id=first.id), "rtsp://h/new"))
    reconcile(devices, fake_clock())
    assert Camera.objects.get(id=first.id).privacy_verified_at is None  # the old device's answer does not count
    reconcile(devices, fake_clock())
    assert devices.in_privacy["rtsp://h/new"] is True
