"""The ONVIF driver against an ONVIF camera written elsewhere (ipycam, from PyPI):
profiles, stream addresses, presets made and reached, the position verified, and
devices that misbehave, each with the installer's words for it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras import onvif
from cameras.drivers import OnvifCameraDriver, driver_for
from cameras.models import Camera, CameraDriverKind, CameraProblem
from cameras.onvif_actions import add_onvif_camera, choose_presets, create_preset_here
from cameras.tests.onvif_devices import PASSWORD, USER, ipycam
from nattillsyn.testing import Municipality
from people.actions import ActionRefused

# The operations and faults this suite has seen work against ipycam; its size is the
# headline figure onvif.operations_tested.
TESTED: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def _report_operations(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    from conftest import HEADLINES

    request.config.stash.setdefault(HEADLINES, {})["onvif.operations_tested"] = len(TESTED)


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with ipycam(tmp_path_factory.mktemp("ipycam")) as port:
        yield port
    onvif.forget_connections()


@pytest.fixture(scope="module")
def misbehaving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], int]]:
    """One device per kind of misbehaviour, started when a test first asks for it."""
    started: dict[str, Any] = {}
    ports: dict[str, int] = {}

    def start(mode: str) -> int:
        if mode not in ports:
            started[mode] = ipycam(tmp_path_factory.mktemp(mode), mode)
            ports[mode] = started[mode].__enter__()
        return ports[mode]

    yield start
    onvif.forget_connections()
    for context in started.values():
        context.__exit__(None, None, None)


def credentials(port: int, password: str = PASSWORD) -> onvif.Credentials:
    return onvif.Credentials("127.0.0.1", port, USER, password)


def turn(creds: onvif.Credentials, profile: str, pan: float, tilt: float) -> None:
    """What the installer does with the camera's own app: point it somewhere."""

    async def use(device: Any) -> None:
        ptz = await device.ptz_service()
        await ptz.AbsoluteMove({"ProfileToken": profile, "Position": {"PanTilt": {"x": pan, "y": tilt}}})

    onvif._run(creds, use, 5)
    TESTED.add("AbsoluteMove")


def test_it_reads_profiles_and_both_streams(device: int) -> None:
    description = onvif.describe(credentials(device), timeout_s=10)
    assert description.manufacturer and description.model
    assert len(description.profiles) == 2
    assert description.ptz_profile == "Profile_Main"
    assert description.main_stream_url == "rtsp://127.0.0.1:8554/video_main"
    assert description.sub_stream_url == "rtsp://127.0.0.1:8554/video_sub"
    assert "home" in {preset.token for preset in description.presets}
    TESTED.update({"GetSystemDateAndTime", "GetServices", "GetDeviceInformation", "GetProfiles"})
    TESTED.update({"GetStreamUri main", "GetStreamUri sub", "GetPresets", "WS-Security digest"})


def test_it_makes_presets_reaches_them_and_verifies_the_position(device: int) -> None:
    creds = credentials(device)
    profile = "Profile_Main"
    turn(creds, profile, 0.0, -0.4)  # towards the bed
    view = onvif.create_preset(creds, profile, "view", timeout_s=5)
    turn(creds, profile, 0.0, 0.9)  # towards the ceiling
    privacy = onvif.create_preset(creds, profile, "privacy", timeout_s=5)
    TESTED.add("SetPreset")
    assert {view, privacy} <= {preset.token for preset in onvif.describe(creds, timeout_s=10).presets}

    moved = onvif.move_to_preset(creds, profile, view, timeout_s=3)
    assert abs(moved.position.tilt - -0.4) <= onvif.POSITION_TOLERANCE
    assert onvif.at_preset(creds, profile, view, timeout_s=3)
    assert not onvif.at_preset(creds, profile, privacy, timeout_s=3)
    moved = onvif.move_to_preset(creds, profile, privacy, timeout_s=3)
    assert moved.seconds < 3
    assert onvif.at_preset(creds, profile, privacy, timeout_s=3)
    position = onvif.position(creds, profile, timeout_s=3)
    assert abs(position.tilt - 0.9) <= onvif.POSITION_TOLERANCE
    TESTED.update({"GotoPreset", "GetStatus", "position verified"})


@pytest.mark.django_db
def test_the_installer_adds_the_camera_and_the_driver_uses_its_presets(device: int, home: Municipality) -> None:
    installer = home.user(Role.INSTALLER)
    camera = add_onvif_camera(
        actor=installer,
        tenant=home.tenant,
        name="Rum 12",
        address=f"127.0.0.1:{device}",
        username=USER,
        password=PASSWORD,
    )
    assert camera.driver == CameraDriverKind.ONVIF_PTZ
    assert camera.stream_url.endswith("/video_main") and camera.sub_stream_url.endswith("/video_sub")
    assert PASSWORD not in camera.password_encrypted  # kept encrypted, as every camera password
    creds = credentials(device)
    turn(creds, camera.onvif_profile, 0.2, -0.5)
    view = create_preset_here(camera, actor=installer, kind="view")
    turn(creds, camera.onvif_profile, 0.2, 0.8)
    privacy = create_preset_here(camera, actor=installer, kind="privacy")
    with pytest.raises(ActionRefused):
        choose_presets(camera, actor=installer, view_preset=view, privacy_preset=view)
    choose_presets(camera, actor=installer, view_preset=view, privacy_preset=privacy)

    driver = driver_for(camera)
    assert isinstance(driver, OnvifCameraDriver) and driver.supports_privacy
    driver.open_view()
    assert driver.status().in_privacy_position is False
    driver.close_view()
    status = driver.status()
    assert status.reachable and status.in_privacy_position is True
    camera.refresh_from_db()
    assert camera.preset_move_s is not None and camera.preset_move_s < 3
    TESTED.update({"driver open_view", "driver close_view", "driver status", "move time stored"})


def test_wrong_credentials_are_named(device: int) -> None:
    with pytest.raises(onvif.OnvifError) as fault:
        onvif.describe(credentials(device, password="wrong"), timeout_s=10)
    assert fault.value.problem == CameraProblem.WRONG_CREDENTIALS
    TESTED.add("fault: wrong credentials")


def test_an_address_nobody_answers_at_is_unreachable(device: int) -> None:
    with pytest.raises(onvif.OnvifError) as fault:
        onvif.describe(onvif.Credentials("127.0.0.1", 1, USER, PASSWORD), timeout_s=5)
    assert fault.value.problem == CameraProblem.UNREACHABLE
    TESTED.add("fault: unreachable")


def test_a_missing_preset_is_a_fault_before_anything_moves(device: int) -> None:
    creds = credentials(device)
    before = onvif.position(creds, "Profile_Main", timeout_s=3)
    with pytest.raises(onvif.OnvifError) as fault:
        onvif.move_to_preset(creds, "Profile_Main", "no-such-preset", timeout_s=2)
    assert fault.value.problem == CameraProblem.PRESET_MISSING
    assert onvif.position(creds, "Profile_Main", timeout_s=3) == before
    TESTED.add("fault: preset missing")


@pytest.mark.django_db
def test_a_camera_without_pan_tilt_is_refused(misbehaving: Callable[[str], int], home: Municipality) -> None:
    port = misbehaving("no_ptz")
    description = onvif.describe(credentials(port), timeout_s=10)
    assert description.ptz_profile == "" and description.main_stream_url
    with pytest.raises(onvif.OnvifError) as fault:
        onvif.move_to_preset(credentials(port), "Profile_Main", "home", timeout_s=2)
    assert fault.value.problem == CameraProblem.NO_PAN_TILT
    with pytest.raises(ActionRefused, match="panorering/lutning"):
        add_onvif_camera(
            actor=home.user(Role.INSTALLER),
            tenant=home.tenant,
            name="Fast",
            address=f"127.0.0.1:{port}",
            username=USER,
            password=PASSWORD,
        )
    assert not Camera.objects.exists()
    TESTED.add("fault: no PTZ service")


@pytest.mark.django_db
def test_a_move_that_never_arrives_is_a_camera_fault(
    misbehaving: Callable[[str], int], home: Municipality, settings: Any
) -> None:
    port = misbehaving("stuck")
    creds = credentials(port)
    turn(creds, "Profile_Main", 0.0, 0.9)
    privacy = onvif.create_preset(creds, "Profile_Main", "privacy", timeout_s=5)
    turn(creds, "Profile_Main", 0.0, -0.4)  # facing the bed, and the motor now jams
    started = time.monotonic()
    with pytest.raises(onvif.OnvifError) as fault:
        onvif.move_to_preset(creds, "Profile_Main", privacy, timeout_s=1)
    assert fault.value.problem == CameraProblem.MOVE_INCOMPLETE
    assert time.monotonic() - started < 3

    settings.ONVIF_MOVE_TIMEOUT_S = 1
    camera = add_onvif_camera(
        actor=home.user(Role.INSTALLER),
        tenant=home.tenant,
        name="Fastnar",
        address=f"127.0.0.1:{port}",
        username=USER,
        password=PASSWORD,
    )
    Camera.objects.filter(id=camera.id).update(view_preset="home", privacy_preset=privacy)
    camera.refresh_from_db()
    driver_for(camera).close_view()  # the worker's call: no exception, a recorded fault
    camera.refresh_from_db()
    assert camera.last_probe_ok is False and camera.last_probe_problem.startswith(CameraProblem.MOVE_INCOMPLETE)
    assert AuditEntry.objects.filter(action=AuditAction.CAMERA_FAULT, detail__during="close_view").exists()
    assert driver_for(camera).status().in_privacy_position is False  # the probe sees it and sends it back
    TESTED.add("fault: move never completes")


def test_a_device_answering_slowly_costs_at_most_the_timeout(misbehaving: Callable[[str], int]) -> None:
    port = misbehaving("slow")
    started = time.monotonic()
    with pytest.raises(onvif.OnvifError) as fault:
        for _ in range(3):  # the first few answers come at once, the rest after 3 s
            onvif.describe(credentials(port), timeout_s=1.5)
            onvif.forget_connections()
    assert fault.value.problem == CameraProblem.DEVICE_TIMEOUT
    assert time.monotonic() - started < 6
    TESTED.add("fault: slow device times out")


def test_installer_messages_are_in_words(device: int) -> None:
    from cameras.models import problem_label

    assert problem_label("wrong_credentials") == str(CameraProblem.WRONG_CREDENTIALS.label)
    assert problem_label("move_incomplete: p1 not reached").endswith(": p1 not reached")


def test_ws_discovery_finds_the_camera(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ipycam's WS-Discovery responder answers our probe (sent to its port, not the
    multicast group: the tests share the machine and port 3702)."""
    import socket

    from cameras.onvif_discovery import discover

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        udp_port = sock.getsockname()[1]
    with ipycam(tmp_path_factory.mktemp("discovery"), discovery_port=udp_port) as port:
        started = time.monotonic()
        found = discover(timeout_s=1.0, target=("127.0.0.1", udp_port))
        assert time.monotonic() - started < 1.5
    assert [device.address for device in found] == [f"http://127.0.0.1:{port}/onvif/device_service"]
    assert onvif.parse_address(found[0].address) == ("127.0.0.1", port)
    TESTED.add("WS-Discovery Probe")
