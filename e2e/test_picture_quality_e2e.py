"""The operator is told when the gateway sends the camera's lower-quality sub stream.

The gateway's side (switching when the camera's link falls behind, the Picture-Quality
header) is tested in gateway/tests/test_weak_link.py and measured by
benchmarks/networks.py over a shaped link; here the page's side, against the real gateway,
with the session's answer saying ``sub`` as a gateway on a weak link would.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import translation

from checks.engine import NightWorker
from console.views import live_texts
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_page_says_when_the_picture_is_the_lower_quality_stream(system: dict[str, Any], new_page: Any) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    local = (clock.now() - timedelta(minutes=1)).astimezone(clock.STOCKHOLM)
    make_person(
        home,
        "Astrid Andersson",
        personnummer=TEST_PERSONNUMMER[0],
        times=[local.time().replace(second=0, microsecond=0)],
        camera_url=f"{system['rtsp']}/cam1",
    )
    NightWorker("e2e").tick(clock.now())
    page = new_page("nattby-operator")
    page.goto(system["url"] + "/console/")
    answered = []

    def weak_link(route: Any) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        answered.append(route.request.url)
        route.fulfill(
            status=204,
            headers={
                "Picture-Quality": "sub",
                "Access-Control-Allow-Origin": system["url"],
                "Access-Control-Expose-Headers": "Picture-Quality",
            },
        )

    page.route(system["gateway"] + "/whep/sessions/*", weak_link)
    page.locator("[data-testid=open-check]").first.click()
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]")
    quality = page.wait_for_selector("[data-testid=live-quality]:not([hidden])", timeout=5_000)
    with translation.override("sv"):
        assert quality.inner_text() == live_texts()["low_quality"]
    assert answered
    page.unroute(system["gateway"] + "/whep/sessions/*")
    page.locator("[data-testid=outcome-seen_ok]").wait_for()
