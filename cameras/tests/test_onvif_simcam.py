"""The project's own simulated cameras speak ONVIF too: the installer's whole flow and
the driver, end to end against simcam (real RTSP behind it, the picture following the
pan/tilt head)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Role
from cameras import gateway_client, onvif
from cameras.drivers import driver_for
from cameras.models import CameraProblem
from cameras.onvif_actions import add_onvif_camera, camera_presets, choose_presets, run_installation_check
from gateway.probe import probe_camera
from gateway.tests.camera_process import SimulatedCameras, simulated_cameras
from nattillsyn.testing import Municipality

MOVE_S = 0.4


@pytest.fixture(scope="module")
def simcam() -> Iterator[SimulatedCameras]:
    with simulated_cameras("cam1:asleep", "--onvif", "cam1", "--onvif-move-s", str(MOVE_S)) as cameras:
        yield cameras
    onvif.forget_connections()


def api(cameras: SimulatedCameras, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{cameras.api_port}/cameras/cam1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method="PUT" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=3) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


@pytest.fixture
def gateway_decodes_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway's own prober, called in this process instead of over its HTTP API."""

    def probe(rtsp_url: str, seconds: float = 3, **where: object) -> dict[str, object]:
        return probe_camera(rtsp_url, seconds=min(seconds, 1.5)).as_dict()

    monkeypatch.setattr(gateway_client, "probe", probe)


@pytest.mark.django_db
def test_the_installer_adds_a_simulated_ptz_camera_and_it_passes(
    simcam: SimulatedCameras, home: Municipality, gateway_decodes_in_process: None
) -> None:
    installer = home.user(Role.INSTALLER)
    address = f"127.0.0.1:{api(simcam, '')['onvif_port']}"
    camera = add_onvif_camera(
        actor=installer, tenant=home.tenant, name="Rum 3", address=address, username="demo", password="demo"
    )
    assert camera.stream_url == f"rtsp://127.0.0.1:{simcam.rtsp_port}/cam1"
    assert {preset.token for preset in camera_presets(camera)} == {"view", "privacy"}
    choose_presets(camera, actor=installer, view_preset="view", privacy_preset="privacy")

    check = run_installation_check(camera, actor=installer)
    assert check.passed, check.steps
    assert [passed for _what, passed, _problem in check.steps] == [True, True, True, True]
    assert check.move_s is not None and MOVE_S * 0.8 < check.move_s < MOVE_S + 1
    assert api(simcam, "")["privacy"] is True  # it ends facing away

    driver = driver_for(camera)
    driver.open_view()
    assert api(simcam, "")["privacy"] is False  # the bed, once the head is there
    assert driver.status().in_privacy_position is False
    driver.close_view()
    assert api(simcam, "")["privacy"] is True
    status = driver.status()
    assert status.reachable and status.in_privacy_position is True
    camera.refresh_from_db()
    assert camera.preset_move_s is not None and camera.preset_move_s >= MOVE_S * 0.8

    # Moved by hand (the control API, as someone turning it) is seen by the probe.
    api(simcam, "/privacy", {"privacy": False})
    assert driver.status().in_privacy_position is False
    driver.close_view()

    # No power at the camera's router: a fault, not a hang.
    api(simcam, "/scenario", {"scenario": "power_cut"})
    try:
        status = driver.status()
        assert not status.reachable and status.problem.startswith(CameraProblem.DEVICE_ERROR)
    finally:
        api(simcam, "/scenario", {"scenario": "asleep"})


@pytest.mark.django_db
def test_wrong_password_is_refused_in_swedish_words(simcam: SimulatedCameras, home: Municipality) -> None:
    from django.utils import translation

    from people.actions import ActionRefused

    address = f"127.0.0.1:{api(simcam, '')['onvif_port']}"
    with translation.override("sv"), pytest.raises(ActionRefused) as refusal:
        add_onvif_camera(
            actor=home.user(Role.INSTALLER),
            tenant=home.tenant,
            name="X",
            address=address,
            username="demo",
            password="fel",
        )
    assert str(refusal.value)  # the installer's words (msgid translated by the integrator)
    with pytest.raises(ActionRefused):
        add_onvif_camera(
            actor=home.user(Role.INSTALLER),
            tenant=home.tenant,
            name="Y",
            address="http://",
            username="demo",
            password="demo",
        )


@pytest.mark.django_db
def test_the_installer_pages(
    simcam: SimulatedCameras, home: Municipality, client: Any, gateway_decodes_in_process: None
) -> None:
    from cameras.models import Camera

    client.force_login(home.user(Role.INSTALLER))
    assert 'data-testid="new-onvif-camera"' in client.get("/cameras/").content.decode()
    form = {"name": "Rum 7", "address": f"127.0.0.1:{api(simcam, '')['onvif_port']}", "username": "demo"}
    page = client.post("/cameras/onvif/new/", {**form, "password": "fel"})
    assert page.status_code == 200  # refused, what was typed kept (the password never echoed)
    assert 'value="Rum 7"' in page.content.decode() and "fel" not in page.content.decode()
    assert not Camera.objects.exists()
    response = client.post("/cameras/onvif/new/", {**form, "password": "demo"})
    camera = Camera.objects.get(name="Rum 7")
    assert response["Location"] == f"/cameras/{camera.id}/onvif/presets/"
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="view-preset"' in page and "Säng" in page
    client.post(response["Location"], {"view_preset": "view", "privacy_preset": "privacy"})
    camera.refresh_from_db()
    assert (camera.view_preset, camera.privacy_preset) == ("view", "privacy")
    page = client.post(f"/cameras/{camera.id}/onvif/check").content.decode()
    assert page.count("badge done") == 4 and 'data-testid="move-time"' in page
    assert 'data-testid="onvif-presets"' in client.get(f"/cameras/{camera.id}/").content.decode()
