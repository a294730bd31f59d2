"""A check through an ONVIF pan/tilt camera, end to end: the worker and the operator's
click move simcam's camera to its view preset over ONVIF (verified from its PTZ status),
the browser gets the picture through the gateway, and when the view ends the camera is
turned back to its privacy preset, verified again."""

from __future__ import annotations

import json
import time as wallclock
import urllib.request
from datetime import timedelta
from typing import Any

import pytest

from cameras import onvif
from cameras.models import Camera, CameraDriverKind
from checks.engine import NightWorker
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def cam2(system: dict[str, Any], privacy: bool | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{system['simcam']['api_url']}/cameras/cam2" + ("/privacy" if privacy is not None else ""),
        data=json.dumps({"privacy": privacy}).encode() if privacy is not None else None,
        method="PUT" if privacy is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=3) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def wait_until(condition: Any, timeout_s: float, message: str) -> None:
    deadline = wallclock.monotonic() + timeout_s
    while not condition():
        assert wallclock.monotonic() < deadline, message
        wallclock.sleep(0.1)


def test_a_check_through_an_onvif_camera_turns_it_to_the_bed_and_back(system: dict[str, Any], new_page: Any) -> None:
    cam2(system, privacy=True)  # at rest, as a real camera between checks
    home = make_municipality("Nattby kommun", "nattby")
    home.tenant.view_seconds = 4
    home.tenant.save()
    due = (clock.now() - timedelta(minutes=1)).astimezone(clock.STOCKHOLM).time().replace(second=0, microsecond=0)
    person = make_person(
        home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0], times=[due], camera_url=f"{system['rtsp']}/cam2"
    )
    Camera.objects.filter(person=person).update(
        driver=CameraDriverKind.ONVIF_PTZ,
        onvif_address=f"127.0.0.1:{system['simcam']['onvif_port']}",
        onvif_profile="main",
        view_preset="view",
        privacy_preset="privacy",
    )
    NightWorker("e2e").tick(clock.now())
    page = new_page("nattby-operator")
    page.goto(system["url"] + "/console/")
    page.locator("[data-testid=open-check]").first.click()
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]")
    assert cam2(system)["privacy"] is False  # turned to the bed, over ONVIF
    camera = Camera.objects.get(person=person)
    assert camera.preset_move_s is not None and camera.preset_move_s > 0.3  # simcam's head takes 0.8 s
    assert camera.last_probe_ok is not False

    # The grant allows 4 s; its end turns the camera back to the ceiling, verified.
    wait_until(lambda: cam2(system)["privacy"] is True, 20, "the camera did not return to its privacy preset")
    credentials = onvif.Credentials("127.0.0.1", system["simcam"]["onvif_port"], "demo", "demo")
    wait_until(
        lambda: onvif.at_preset(credentials, "main", "privacy", timeout_s=3), 5, "the head did not reach the preset"
    )
    onvif.forget_connections()
