"""Two camera gateways for one site, and the one serving the operator's view killed
(kill -9) while they look: the check page says so in Swedish at once and offers to open
again; the reopened view and every check still due go through the standby; none lost.

Real processes: two gateways (``python -m gateway``), the simulated cameras over RTSP,
the control plane (live server) and Chromium; the worker's ticks run in this process.
``benchmarks/failover.py`` does the same with gunicorn and the worker as processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from audit.models import AuditAction, AuditEntry
from cameras.models import Camera, Gateway, GrantPurpose, ViewGrant
from checks.engine import NightWorker
from checks.models import Check, CheckState
from e2e.conftest import ROOT, free_port, stop, wait_for_gateway_quiet, wait_for_http
from e2e.test_night_e2e import due_now, wait_until
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SITE = "nord"


def start_gateway(gateway_id: str, control_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "NATTILLSYN_CONTROL_URL": control_url,
        "NATTILLSYN_GRANT_KEY": settings.GRANT_KEY,
        "NATTILLSYN_GATEWAY_TOKEN": settings.GATEWAY_TOKEN,
        "GATEWAY_ID": gateway_id,
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_ALLOWED_ORIGINS": control_url,
    }
    process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env)  # heartbeat on: listed
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", process)
    return process, url


@pytest.fixture
def site(system: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Gateway gw-a (the site's primary) and gw-b (its standby), as the administrator lists them."""
    started = {name: start_gateway(name, system["url"]) for name in ("gw-a", "gw-b")}
    for name, (_process, url) in started.items():
        Gateway.objects.create(gateway_id=name, site=SITE, public_url=url, standby=name == "gw-b")
    yield {name: {"process": process, "url": url} for name, (process, url) in started.items()}
    for process, url in started.values():
        if process.poll() is None:
            wait_for_gateway_quiet(url)
        stop(process)


@pytest.fixture
def night(system: dict[str, Any], site: dict[str, Any]) -> dict[str, Any]:
    home = make_municipality("Nattby kommun", "nattby")
    persons = [
        make_person(
            home,
            name,
            personnummer=TEST_PERSONNUMMER[index],
            times=[due_now()],
            camera_url=f"{system['rtsp']}/cam{index + 1}",
        )  # fmt: skip
        for index, name in enumerate(("Astrid Andersson", "Bertil Berg"))
    ]
    Camera.objects.update(site=SITE)
    NightWorker("e2e").tick(clock.now())
    # Both gateways poll every second: alive once each has been heard.
    wait_until(lambda: Gateway.objects.filter(last_seen_at__isnull=False).count() == 2, 5, "both heartbeats")
    return {"home": home, "persons": persons}


def open_in_console(page: Any, system: dict[str, Any], name: str) -> None:
    page.goto(system["url"] + "/console/")
    page.locator("[data-testid=check-row]", has_text=name).locator("[data-testid=open-check]").click()
    page.wait_for_url("**/console/attempts/*/")


def newest_grant(purpose: str = GrantPurpose.CHECK) -> ViewGrant:
    return ViewGrant.objects.filter(purpose=purpose).latest("id")


def test_a_killed_gateway_the_operator_reopens_at_once_through_the_standby_and_no_check_is_lost(
    system: dict[str, Any], site: dict[str, Any], night: dict[str, Any], new_page: Any
) -> None:
    page = new_page("nattby-operator")
    open_in_console(page, system, "Astrid Andersson")
    page.wait_for_selector("#live[data-state=live]")
    assert newest_grant().gateway == "gw-a"

    killed_ms = page.evaluate("Date.now()")
    os.kill(site["gw-a"]["process"].pid, signal.SIGKILL)  # kill -9: no goodbye to anyone
    site["gw-a"]["process"].wait()
    page.wait_for_selector("#live[data-state=ended]", timeout=10_000)
    with translation.override("sv"):
        from console.views import live_texts

        expected = live_texts()["gateway_lost"]
    assert page.inner_text("[data-testid=live-status]") == expected
    noticed_s = (float(page.get_attribute("#live", "data-gateway-lost-at") or "nan") - killed_ms) / 1000
    page.wait_for_selector("[data-testid=reopen]:not([disabled])")
    page.keyboard.press("o")  # at once: the control plane asks gw-a, gets no answer, uses gw-b
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]")
    reopen_s = (float(page.get_attribute("#live", "data-first-frame-at") or "nan") - killed_ms) / 1000
    assert newest_grant().gateway == "gw-b"
    page.wait_for_selector("[data-testid=outcome-seen_ok]:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")

    # The worker readies the next due camera on the standby, and the next check goes there too.
    NightWorker("e2e").tick(clock.now())
    open_in_console(page, system, "Bertil Berg")
    page.wait_for_selector("#live[data-state=live]")
    assert newest_grant().gateway == "gw-b"
    page.wait_for_selector("[data-testid=outcome-seen_ok]:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")

    due = Check.objects.filter(due_at__isnull=False)
    lost = due.exclude(state=CheckState.DONE).count()
    assert lost == 0, list(Check.objects.values_list("person__name", "state", "due_at"))
    reopened = AuditEntry.objects.filter(action=AuditAction.CHECK_OPENED).order_by("id")[1]
    assert reopened.detail["gateway"] == "gw-b" and "reopened_attempt" in reopened.detail
    print(f"\nfailover.checks_lost: {lost}")
    print(f"failover.lost_noticed_s: {noticed_s:.2f}")
    print(f"failover.reopen_s: {reopen_s:.2f}")
    assert reopen_s < 10
