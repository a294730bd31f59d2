"""The installation test with picture, in a real browser against the real gateway and a
simulated camera: the installer books the slot, the planner records the person's
consent to it, and only then does the operator's picture come."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from audit.models import AuditAction, AuditEntry
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def local_minute(moment: Any) -> str:
    return str(moment.astimezone(clock.STOCKHOLM).strftime("%Y-%m-%dT%H:%M"))


def test_the_operator_sees_the_picture_only_in_the_booked_slot_with_consent(
    system: dict[str, Any], new_page: Any
) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    person = make_person(
        home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0], tested=False, camera_url=f"{system['rtsp']}/cam1"
    )
    camera_page = f"{system['url']}/cameras/{person.camera.id}/"

    operator = new_page("nattby-operator")
    operator.goto(camera_page)
    operator.click("[data-testid=installation-view]")
    assert operator.locator("[data-testid=message].error").count() == 1  # said, in Swedish once translated
    assert AuditEntry.objects.filter(action=AuditAction.GRANT_REFUSED, detail__reason="no_installation_booking")

    installer = new_page("nattby-installer")
    installer.goto(camera_page)
    now = clock.now()
    installer.fill("#id_starts_at", local_minute(now - timedelta(minutes=1)))
    installer.fill("#id_ends_at", local_minute(now + timedelta(minutes=59)))
    installer.click("[data-testid=book-installation]")
    installer.wait_for_selector("[data-testid=installation-booking]")

    operator.goto(camera_page)
    operator.click("[data-testid=installation-view]")
    assert operator.locator("[data-testid=message].error").count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.GRANT_REFUSED, detail__reason="no_installation_consent")

    planner = new_page("nattby-planner")
    planner.goto(camera_page)
    planner.select_option("#id_booking", index=1)
    planner.fill("#id_given_by", "Astrid själv")
    planner.select_option("#id_method", "oral")
    planner.click("[data-testid=record-installation-consent]")
    planner.wait_for_selector("[data-testid=installation-booking] .badge.done")

    operator.goto(camera_page)
    operator.click("[data-testid=installation-view]")
    operator.wait_for_url("**/console/views/**")
    operator.wait_for_selector("#live[data-state=live]")
    entry = AuditEntry.objects.get(action=AuditAction.INSTALLATION_VIEW)
    assert entry.detail["consent_given_by"] == "Astrid själv"
