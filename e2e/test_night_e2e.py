"""The night in a real browser: operator, night patrol, planner and an outsider."""

from __future__ import annotations

import time as wallclock
from datetime import time, timedelta
from typing import Any

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from checks.engine import NightWorker
from checks.models import Check, CheckState, Escalation, EscalationState
from e2e.browser_probes import VIDEO_PIXELS
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def due_now() -> time:
    """An agreed time a minute ago, so the check is due as soon as the worker ticks."""
    local = (clock.now() - timedelta(minutes=1)).astimezone(clock.STOCKHOLM)
    return local.time().replace(second=0, microsecond=0)


def wait_until(condition: Any, timeout: float = 15, what: str = "condition") -> Any:
    deadline = wallclock.monotonic() + timeout
    while wallclock.monotonic() < deadline:
        value = condition()
        if value:
            return value
        wallclock.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def world(system: dict[str, Any]) -> dict[str, Any]:
    home = make_municipality("Nattby kommun", "nattby")
    outsider = make_municipality("Grannby kommun", "grannby")
    # A 10-minute retry delay: a longer jump of the clock would also (rightly) end the
    # operator's session by the 15-minute idle timeout.
    person = make_person(
        home,
        "Astrid Andersson",
        personnummer=TEST_PERSONNUMMER[0],
        times=[due_now()],
        camera_url=f"{system['rtsp']}/cam1",
        retry_delay_min=10,
    )
    NightWorker("e2e").tick(clock.now())
    tonight = Check.objects.filter(person=person).order_by("scheduled_at").first()
    return {"home": home, "outsider": outsider, "person": person, "check": tonight}


def open_check_in_console(page: Any, system: dict[str, Any], name: str) -> None:
    page.goto(system["url"] + "/console/")
    page.locator("[data-testid=check-row]", has_text=name).locator("[data-testid=open-check]").click()
    page.wait_for_url("**/console/attempts/*/")


def test_operator_completes_a_check(system: dict[str, Any], world: dict[str, Any], new_page: Any) -> None:
    page = new_page("nattby-operator")
    open_check_in_console(page, system, "Astrid Andersson")  # one click: the picture plays by itself
    page.wait_for_selector("#live[data-state=live]")
    pixels = page.evaluate(VIDEO_PIXELS, "#live-video")
    assert pixels["width"] == 640 and pixels["height"] == 360
    assert pixels["meanBrightness"] > 10  # a night-vision picture, not black
    assert pixels["changed"] > 0  # moving: breathing and sensor noise
    assert page.inner_text("[data-testid=countdown]").endswith("s")
    page.click("[data-testid=outcome-seen_ok]")
    page.wait_for_url("**/console/")
    assert "Astrid Andersson" in page.inner_text("[data-testid=message]")
    check = world["check"]
    check.refresh_from_db()
    assert check.state == CheckState.DONE
    # The gateway stops the stream once the outcome is in and reports the real duration.
    view = wait_until(
        lambda: AuditEntry.objects.filter(action=AuditAction.CAMERA_VIEW, person=world["person"]).first(),
        what="view audit entry",
    )
    assert 0 < view.duration_s < 30
    assert view.actor == world["home"].user(Role.OPERATOR)


def test_not_visible_twice_escalates_to_the_patrol_who_records_the_visit(
    system: dict[str, Any], world: dict[str, Any], new_page: Any
) -> None:
    operator = new_page("nattby-operator")
    open_check_in_console(operator, system, "Astrid Andersson")
    operator.click("[data-testid=outcome-not_visible]")
    operator.wait_for_url("**/console/")
    check = world["check"]
    check.refresh_from_db()
    assert check.state == CheckState.RETRY_WAIT

    # The agreed retry delay passes. Moved on the check, not on the clock: the gateway
    # checks grants against real time, and the retry needs a real picture too.
    Check.objects.filter(pk=check.pk).update(next_attempt_at=clock.now())
    NightWorker("e2e").tick(clock.now())
    open_check_in_console(operator, system, "Astrid Andersson")
    operator.click("[data-testid=outcome-not_visible]")
    operator.wait_for_url("**/console/")
    check.refresh_from_db()
    assert check.state == CheckState.ESCALATED

    patrol = new_page("nattby-patrol")
    patrol.goto(system["url"] + "/console/patrol/")
    card = patrol.locator("[data-testid=escalation]", has_text="Astrid Andersson")
    assert "Astrid Anderssons väg 1" in card.locator("[data-testid=escalation-address]").inner_text()
    assert "kod 1234" in card.locator("[data-testid=escalation-entry]").inner_text()
    card.locator("[data-testid=acknowledge]").click()
    patrol.wait_for_load_state()
    card = patrol.locator("[data-testid=escalation]", has_text="Astrid Andersson")
    card.locator("[data-testid=result]").select_option("visited_ok")
    card.locator("[data-testid=resolve]").click()
    patrol.wait_for_selector("[data-testid=no-escalations]")
    escalation = Escalation.objects.get(night_check=check)
    assert escalation.state == EscalationState.RESOLVED and escalation.result == "visited_ok"
    assert escalation.acknowledged_by == world["home"].user(Role.PATROL)


def test_withdrawn_consent_stops_the_camera_check(system: dict[str, Any], world: dict[str, Any], new_page: Any) -> None:
    operator = new_page("nattby-operator")
    open_check_in_console(operator, system, "Astrid Andersson")
    operator.wait_for_selector("#live[data-state=live]")

    planner = new_page("nattby-planner")
    planner.goto(system["url"] + f"/people/{world['person'].id}/")
    planner.click("[data-testid=withdraw-consent]")
    planner.click("[data-testid=save]")
    planner.wait_for_url(f"**/people/{world['person'].id}/")
    assert "Inget giltigt samtycke" in planner.inner_text("[data-testid=consent-status]")

    # The running view stops (the gateway polls revocations every second), and the page
    # says so in Swedish; opening again is refused.
    operator.wait_for_selector("#live[data-state=ended]", timeout=25_000)
    assert "Visningen har avslutats" in operator.inner_text("[data-testid=live-status]")
    operator.reload()
    assert operator.locator("[data-testid=reopen]").count() == 0
    # The check is no longer a camera check; the patrol goes instead.
    operator.goto(system["url"] + "/console/")
    assert "Astrid Andersson" not in operator.content()
    check = world["check"]
    check.refresh_from_db()
    assert check.state == CheckState.VISIT_PENDING


def test_a_user_of_another_municipality_sees_and_opens_nothing(
    system: dict[str, Any], world: dict[str, Any], new_page: Any
) -> None:
    page = new_page("grannby-operator")
    page.goto(system["url"] + "/console/")
    assert "Astrid Andersson" not in page.content()
    check = world["check"]
    for path in (f"/people/{world['person'].id}/", f"/cameras/{world['person'].camera.id}/"):
        response = page.goto(system["url"] + path)
        assert response.status in (403, 404) and "Astrid" not in page.content()
    # Posting the open form of another municipality's check is refused on the server.
    page.goto(system["url"] + "/console/")
    status = page.evaluate(
        """async ([url, token]) => (await fetch(url, {method: "POST",
        headers: {"X-CSRFToken": token}, credentials: "same-origin"})).status""",
        [f"{system['url']}/console/checks/{check.id}/open", page.get_attribute("meta[name=csrf-token]", "content")],
    )
    assert status == 404
    check.refresh_from_db()
    assert check.state == CheckState.DUE
