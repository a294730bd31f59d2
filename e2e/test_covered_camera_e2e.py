"""A covered camera in a real browser: the simulated camera's lens is blocked ("dark"),
the worker's real probe through the gateway finds the black picture, tonight's next
check is a visit the patrol is told about, the case officer records the talk, and the
checks return to camera (checks/covered.py)."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from typing import Any

import pytest

from audit.models import AuditAction, AuditEntry
from cameras.health import probe_camera
from checks.engine import NightWorker
from checks.models import CameraConcern, Check, CheckForm, CheckState, ConcernOutcome
from e2e.test_night_e2e import due_now
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def set_scenario(system: dict[str, Any], camera: str, scenario: str) -> None:
    request = urllib.request.Request(
        f"{system['simcam']['api_url']}/cameras/{camera}/scenario",
        data=json.dumps({"scenario": scenario}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def test_a_covered_camera_makes_visits_and_a_task_until_the_case_officer_has_talked_with_the_person(
    system: dict[str, Any], new_page: Any
) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    first = due_now()
    # Beyond the probe's 30-minute horizon: not escalated by the fault, a camera check until the concern.
    later = (clock.now() + timedelta(minutes=40)).astimezone(clock.STOCKHOLM).time().replace(second=0, microsecond=0)
    person = make_person(
        home,
        "Astrid Andersson",
        personnummer=TEST_PERSONNUMMER[0],
        times=[first, later],
        camera_url=f"{system['rtsp']}/cam1",
    )
    worker = NightWorker("e2e", camera_prober=probe_camera)
    set_scenario(system, "cam1", "dark")
    try:
        worker.tick(clock.now())  # plans the night; the first probe finds the black picture
        system["clock"].advance(seconds=61)
        worker.tick(clock.now())  # the second probe confirms it
        concern = CameraConcern.objects.get(person=person)
        assert concern.is_open and concern.evidence == "picture_black"
    finally:
        set_scenario(system, "cam1", "asleep")
    now_check, next_check = Check.objects.filter(person=person).order_by("scheduled_at")[:2]
    assert next_check.form == CheckForm.PHYSICAL and next_check.form_note == "camera_covered"

    patrol = new_page("nattby-patrol")
    patrol.goto(system["url"] + "/console/patrol/")
    card = patrol.locator("[data-testid=escalation]", has_text="Astrid Andersson").first
    # The reason, on the card of the check the fault escalated (the words: nattillsyn.codes / the template).
    assert card.locator("[data-testid=escalation-why]").is_visible()

    case_officer = new_page("nattby-case_officer")
    case_officer.goto(system["url"] + "/people/")
    case_officer.click("[data-testid=camera-concerns-link]")
    row = case_officer.locator("[data-testid=camera-concern]", has_text="Astrid Andersson")
    row.locator("[data-testid=record-talk]").click()
    case_officer.check(f"input[name=outcome][value={ConcernOutcome.CAMERA_WANTED}]")
    case_officer.fill("input[name=note]", "Ville ha mörkt, vi pratade om tiderna")
    case_officer.click("[data-testid=save]")
    case_officer.wait_for_url(f"**/people/{person.id}/")
    assert case_officer.locator("[data-testid=camera-concern-open]").count() == 0
    case_officer.goto(system["url"] + "/people/camera-concerns/")
    assert case_officer.locator("[data-testid=no-camera-concerns]").is_visible()
    assert AuditEntry.objects.filter(action=AuditAction.CAMERA_CONCERN_RESOLVED, person=person).count() == 1

    # The later check is due as a camera check again (the camera now shows the bed).
    system["clock"].advance(seconds=(next_check.scheduled_at - clock.now()).total_seconds() + 1)
    worker.tick(clock.now())
    next_check.refresh_from_db()
    assert next_check.form == CheckForm.CAMERA and next_check.state == CheckState.DUE
    assert now_check.id != next_check.id
