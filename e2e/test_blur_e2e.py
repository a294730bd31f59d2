"""A blurred view in a real browser: the person chose it, the operator sees a small soft
picture, switches to the clear one with a reason, and the switch is audited and in
the person's letter."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.models import ViewGrant
from checks.engine import NightWorker
from e2e.test_night_e2e import due_now, open_check_in_console, wait_until
from letters.content import month_letters
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person
from people.actions import register_consent
from people.models import ConsentMethod

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIDEO_WIDTH = "() => document.getElementById('live-video').videoWidth"


def test_a_blurred_view_switched_to_clear_with_a_reason(system: dict[str, Any], new_page: Any) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    person = make_person(
        home,
        "Astrid Andersson",
        personnummer=TEST_PERSONNUMMER[0],
        times=[due_now()],
        camera_url=f"{system['rtsp']}/cam1",
    )
    register_consent(
        person,
        actor=home.user(Role.PLANNER),
        given_by="Astrid Andersson",
        method=ConsentMethod.WRITTEN,
        given_at=person.consents.get().given_at,
        valid_until=None,
        blurred=True,
    )
    NightWorker("e2e").tick(clock.now())

    page = new_page("nattby-operator")
    open_check_in_console(page, system, "Astrid Andersson")
    page.wait_for_selector("#live[data-state=live]")
    assert page.locator("[data-testid=picture-blurred]").is_visible()
    assert page.evaluate(VIDEO_WIDTH) == 320  # the gateway's small, soft picture
    grant = ViewGrant.objects.get(person=person)
    assert grant.blurred

    page.click("[data-testid=clear-reason-suspected_fall]")
    page.wait_for_selector("[data-testid=clear-picture-shown][data-state=clear]")
    assert "Suspected fall" in page.inner_text("[data-testid=clear-picture-shown]") or "fall" in page.inner_text(
        "[data-testid=clear-picture-shown]"
    )
    assert not page.locator("[data-testid=clear-picture]").is_visible()
    # The camera's own picture follows, from its next cached keyframe.
    page.wait_for_function("() => document.getElementById('live-video').videoWidth > 320", timeout=15_000)

    entry = wait_until(
        lambda: AuditEntry.objects.filter(action=AuditAction.CLEAR_PICTURE_SHOWN, person=person).first(),
        what="the switch audited",
    )
    assert entry.actor_id == home.user(Role.OPERATOR).id and entry.detail["reason"] == "suspected_fall"
    page.close()
    (letter,) = month_letters(home.tenant, clock.now().date(), [person.id])
    assert [view.clear_picture_reason for view in letter.views] == ["suspected_fall"]
