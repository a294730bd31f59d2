"""The operator's check in a real browser, as the operator does it: one click or key to
open, the picture plays by itself, one key for the outcome; no "seen" without seeing;
no dead ends (reopen, a closed tab frees the check); who has a check; retries wait."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import F

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from checks.engine import NightWorker
from checks.models import Check, CheckState
from e2e.test_night_e2e import due_now, open_check_in_console, wait_until
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(system: dict[str, Any]) -> dict[str, Any]:
    home = make_municipality("Nattby kommun", "nattby")
    person = make_person(
        home,
        "Astrid Andersson",
        personnummer=TEST_PERSONNUMMER[0],
        times=[due_now()],
        camera_url=f"{system['rtsp']}/cam1",
        retry_delay_min=10,
    )
    NightWorker("e2e").tick(clock.now())
    check = Check.objects.get(person=person, state=CheckState.DUE)
    return {"home": home, "person": person, "check": check}


def refusals(reason: str) -> int:
    return sum(
        1
        for entry in AuditEntry.objects.filter(action__in=(AuditAction.GRANT_REFUSED, AuditAction.OUTCOME_REFUSED))
        if entry.detail.get("reason") == reason
    )


def test_a_check_by_keyboard_alone_from_the_console_to_the_outcome(
    system: dict[str, Any], world: dict[str, Any], new_page: Any
) -> None:
    page = new_page("nattby-operator")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(system["url"] + "/console/")
    page.keyboard.press("Enter")  # the first check to do has the focus
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]")  # no second button: it plays by itself
    # A picture large enough to judge, and everything to act on visible without scrolling.
    video = page.locator("#live-video").bounding_box()
    assert video is not None and video["width"] >= 960
    shown = page.evaluate(  # the picture itself, letterboxed inside the element
        """() => { const v = document.getElementById("live-video"); const r = v.getBoundingClientRect();
                   return Math.min(r.width, r.height * v.videoWidth / v.videoHeight); }"""
    )
    assert shown >= 960
    for testid in ("countdown", "outcome-seen_ok", "outcome-technical_fault", "fullscreen"):
        box = page.locator(f"[data-testid={testid}]").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 720, testid
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "nattillsyn-check-page.png"))
    page.wait_for_selector("[data-testid=outcome-seen_ok]:not([disabled])")
    page.keyboard.press("Enter")  # seen, OK
    page.wait_for_url("**/console/")
    assert "Kontrollen är klar" in page.inner_text("[data-testid=message]")
    world["check"].refresh_from_db()
    assert world["check"].state == CheckState.DONE


def test_seen_is_refused_until_a_picture_reached_the_browser(
    system: dict[str, Any], world: dict[str, Any], new_page: Any
) -> None:
    page = new_page("nattby-operator")
    page.route(system["gateway"] + "/whep", lambda route: route.abort())  # the picture never comes
    open_check_in_console(page, system, "Astrid Andersson")
    page.wait_for_selector("#live[data-state=refused]")
    status = page.inner_text("[data-testid=live-status]")
    assert "Kameraservern svarar inte" in status and "whep" not in status.lower()
    assert page.is_disabled("[data-testid=outcome-seen_ok]")
    # Forced past the disabled button, the server still refuses, says why, and logs it.
    page.evaluate(
        """() => { const b = document.querySelector("[data-testid=outcome-seen_ok]");
                   b.disabled = false; b.form.requestSubmit(b); }"""
    )
    page.wait_for_selector("[data-testid=message]")
    assert "Ingen bild har nått din skärm" in page.inner_text("[data-testid=message]")
    assert refusals("no_picture") == 1
    world["check"].refresh_from_db()
    assert world["check"].state == CheckState.IN_PROGRESS
    # The page came back with the message and tries its view again (refused again here):
    # once its script has settled, F records "no picture" (the agreed escalation).
    page.wait_for_selector("#live[data-state=refused]")
    page.keyboard.press("f")
    page.wait_for_url("**/console/")
    world["check"].refresh_from_db()
    assert world["check"].state == CheckState.ESCALATED


def test_a_view_that_could_not_start_is_opened_again_at_once(
    system: dict[str, Any], world: dict[str, Any], new_page: Any
) -> None:
    page = new_page("nattby-operator")
    page.route(system["gateway"] + "/whep", lambda route: route.abort())
    open_check_in_console(page, system, "Astrid Andersson")
    page.wait_for_selector("#live[data-state=refused]")
    page.unroute(system["gateway"] + "/whep")
    page.reload()  # the grant is unused: the page simply tries again
    page.wait_for_selector("#live[data-state=live]")
    page.keyboard.press("Escape")
    # A view that ran and ended (the browser crashed, the time ran out): open again.
    page.evaluate("() => document.getElementById('live-video').srcObject = null")
    page.goto(page.url)  # the grant is spent now
    page.wait_for_selector("[data-testid=reopen]")
    page.keyboard.press("o")
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]")
    assert world["check"].attempts.count() == 2
    opened = AuditEntry.objects.filter(action=AuditAction.CHECK_OPENED).order_by("-id").first()
    assert opened is not None and "reopened_attempt" in opened.detail


def test_a_closed_tab_frees_the_check_within_a_minute(
    system: dict[str, Any], world: dict[str, Any], new_page: Any
) -> None:
    page = new_page("nattby-operator")
    open_check_in_console(page, system, "Astrid Andersson")
    page.wait_for_selector("#live[data-state=live]")
    page.close()  # the tab goes: the page ends its view (DELETE) as it unloads
    grant = world["check"].attempts.get().grant
    wait_until(lambda: type(grant).objects.get(pk=grant.pk).ended_at is not None, timeout=40, what="the view's end")
    assert type(grant).objects.get(pk=grant.pk).end_reason in ("viewer_deleted", "viewer_closed")
    # Half a minute passes after the view's end. Moved on the grant, not on the clock: the
    # gateway checks the colleague's new grant against real time.
    type(grant).objects.filter(pk=grant.pk).update(ended_at=F("ended_at") - timedelta(seconds=31))
    world["check"].attempts.update(opened_at=F("opened_at") - timedelta(seconds=31))
    NightWorker("e2e").tick(clock.now())
    world["check"].refresh_from_db()
    assert world["check"].state == CheckState.DUE
    colleague = make_user("kollega", world["home"].tenant, Role.OPERATOR)
    assert colleague
    other = new_page("kollega")
    open_check_in_console(other, system, "Astrid Andersson")
    other.wait_for_selector("#live[data-state=live]")


def test_a_colleague_sees_who_has_the_check(system: dict[str, Any], world: dict[str, Any], new_page: Any) -> None:
    operator = world["home"].user(Role.OPERATOR)
    operator.first_name, operator.last_name = "Anna", "Andersson"
    operator.save()
    make_user("kollega", world["home"].tenant, Role.OPERATOR)
    page = new_page("nattby-operator")
    open_check_in_console(page, system, "Astrid Andersson")
    page.wait_for_selector("#live[data-state=live]")
    other = new_page("kollega")
    other.goto(system["url"] + "/console/")
    row = other.locator("[data-testid=check-row]", has_text="Astrid Andersson")
    assert "Anna Andersson" in row.locator("[data-testid=held-by]").inner_text()
    assert row.locator("[data-testid=open-check]").count() == 0
    # Posting the open form anyway: refused with who and since when, and audited.
    other.evaluate(
        """([url, token]) => { const f = document.createElement("form"); f.method = "post"; f.action = url;
           const i = document.createElement("input"); i.name = "csrfmiddlewaretoken"; i.value = token;
           f.appendChild(i); document.body.appendChild(f); f.submit(); }""",
        [f"/console/checks/{world['check'].id}/open", other.get_attribute("meta[name=csrf-token]", "content")],
    )
    other.wait_for_url("**/console/")
    assert "Anna Andersson har haft kontrollen öppen sedan" in other.inner_text("[data-testid=message]")
    assert refusals("held_by_other") == 1


def test_after_not_visible_the_retry_waits_its_delay_and_the_banner_says_when(
    system: dict[str, Any], world: dict[str, Any], new_page: Any
) -> None:
    page = new_page("nattby-operator")
    open_check_in_console(page, system, "Astrid Andersson")
    page.wait_for_selector("[data-testid=outcome-not_visible]:not([disabled])")
    page.keyboard.press("n")
    page.wait_for_url("**/console/")
    message = page.locator("[data-testid=message]")
    world["check"].refresh_from_db()
    retry_at = world["check"].next_attempt_at.astimezone(clock.STOCKHOLM)
    assert f"Nytt försök kl. {retry_at:%H:%M}" in message.inner_text()
    assert "warning" in (message.get_attribute("class") or "")  # not the green of success
    row = page.locator("[data-testid=check-row]", has_text="Astrid Andersson")
    assert row.locator("[data-testid=open-check]").count() == 0
    system["clock"].advance(minutes=9)  # a minute before the agreed 10: still not
    page.goto(system["url"] + "/console/")
    assert (
        page.locator("[data-testid=check-row]", has_text="Astrid Andersson").locator("[data-testid=open-check]").count()
        == 0
    )
    system["clock"].advance(minutes=1, seconds=1)
    page.goto(system["url"] + "/console/")
    assert (
        page.locator("[data-testid=check-row]", has_text="Astrid Andersson").locator("[data-testid=open-check]").count()
        == 1
    )
    assert world["check"].next_attempt_at - timedelta(minutes=10) < clock.now()
