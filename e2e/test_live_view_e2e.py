"""The live view's privacy rules, tried from a real browser against the real gateway.

The viewer here (browser_probes.STUBBORN_VIEWER) ignores every countdown and never
closes by itself: whatever stops the picture is the server.
"""

from __future__ import annotations

import time as wallclock
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from checks.engine import NightWorker
from checks.models import Check
from e2e.browser_probes import PROBE_FRAMES, PROBE_IDLE_MS, STUBBORN_VIEWER
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person
from people.actions import withdraw_consent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def due_now() -> Any:
    local = (clock.now() - timedelta(minutes=1)).astimezone(clock.STOCKHOLM)
    return local.time().replace(second=0, microsecond=0)


@pytest.fixture
def opened(system: dict[str, Any], new_page: Any) -> dict[str, Any]:
    """An operator has opened a camera check; the page holds a fresh grant."""
    home = make_municipality("Nattby kommun", "nattby")
    home.tenant.view_seconds = 4
    home.tenant.save()
    person = make_person(
        home,
        "Astrid Andersson",
        personnummer=TEST_PERSONNUMMER[0],
        times=[due_now()],
        camera_url=f"{system['rtsp']}/cam1",
    )
    NightWorker("e2e").tick(clock.now())
    page = new_page("nattby-operator")
    page.goto(system["url"] + "/console/")
    # The page starts its view by itself; these tests spend the grant their own way, so
    # the page's own attempt is stopped before it reaches the gateway.
    page.route(system["gateway"] + "/whep", lambda route: route.abort())
    page.locator("[data-testid=open-check]").first.click()
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=refused]")
    page.unroute(system["gateway"] + "/whep")
    token = page.get_attribute("#live", "data-token")
    assert token and token.startswith("v1.")
    return {"home": home, "person": person, "page": page, "token": token, "gateway": system["gateway"]}


def frames_after(page: Any, seconds: float) -> int:
    wallclock.sleep(seconds)
    return int(page.evaluate(PROBE_FRAMES))


def wait_for_frames(page: Any, at_least: int = 5, timeout_s: float = 10) -> None:
    deadline = wallclock.monotonic() + timeout_s
    while page.evaluate(PROBE_FRAMES) < at_least:
        assert wallclock.monotonic() < deadline, "no frames arrived"
        wallclock.sleep(0.1)


def test_the_gateway_cuts_the_stream_at_the_grants_end_whatever_the_browser_does(opened: dict[str, Any]) -> None:
    page = opened["page"]
    result = page.evaluate(STUBBORN_VIEWER, [opened["token"], opened["gateway"]])
    assert result["status"] == 201
    assert "m=audio" not in result["sdp"]
    wait_for_frames(page)
    wallclock.sleep(4 + 2)  # the grant allows 4 s; the viewer never closes by itself
    stopped_at = page.evaluate(PROBE_FRAMES)
    assert frames_after(page, 2) == stopped_at  # no frame since
    assert page.evaluate(PROBE_IDLE_MS) > 1500
    view = AuditEntry.objects.get(action=AuditAction.CAMERA_VIEW, person=opened["person"])
    assert view.duration_s == pytest.approx(4, abs=1.0)
    assert view.detail["end_reason"] == "grant_end"
    assert view.detail["bytes_sent"] > 10_000
    # The same grant again: refused, no media.
    again = page.evaluate(STUBBORN_VIEWER, [opened["token"], opened["gateway"]])
    assert again["status"] == 403  # spent: final, never a 409 a WHEP player would retry


def test_a_forged_grant_gets_no_media(opened: dict[str, Any]) -> None:
    header, payload, _signature = opened["token"].split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    assert opened["page"].evaluate(STUBBORN_VIEWER, [forged, opened["gateway"]])["status"] == 401
    # A payload changed to another camera, signature kept: also refused.
    tampered = f"{header}.{payload[:-4]}AAAA.{_signature}"
    assert opened["page"].evaluate(STUBBORN_VIEWER, [tampered, opened["gateway"]])["status"] == 401
    assert not AuditEntry.objects.filter(action=AuditAction.CAMERA_VIEW).exists()


def test_an_expired_grant_gets_no_media(opened: dict[str, Any], system: dict[str, Any]) -> None:
    system["clock"].advance(seconds=settings.GRANT_START_WINDOW_S + 1)
    assert opened["page"].evaluate(STUBBORN_VIEWER, [opened["token"], opened["gateway"]])["status"] == 403


def test_a_revoked_grant_stops_a_running_stream_within_5_s(opened: dict[str, Any]) -> None:
    page = opened["page"]
    home = opened["home"]
    home.tenant.view_seconds = 60
    home.tenant.save()
    assert page.evaluate(STUBBORN_VIEWER, [opened["token"], opened["gateway"]])["status"] == 201
    wait_for_frames(page)
    withdraw_consent(opened["person"].consents.get(), actor=home.user(Role.PLANNER), note="Vill inte")
    revoked_at = wallclock.monotonic()
    # Frames stop within 5 s of the withdrawal.
    while page.evaluate(PROBE_IDLE_MS) < 1000:
        assert wallclock.monotonic() - revoked_at < 5 + 1, "the stream was still running 5 s after revocation"
        wallclock.sleep(0.1)
    stopped_after_s = wallclock.monotonic() - revoked_at - page.evaluate(PROBE_IDLE_MS) / 1000
    assert stopped_after_s < 5
    view = None
    deadline = wallclock.monotonic() + 5
    while view is None and wallclock.monotonic() < deadline:
        view = AuditEntry.objects.filter(action=AuditAction.CAMERA_VIEW, person=opened["person"]).first()
        wallclock.sleep(0.2)
    assert view is not None and view.detail["end_reason"] == "revoked"
    assert Check.objects.filter(person=opened["person"]).order_by("scheduled_at").first().form == "physical"
