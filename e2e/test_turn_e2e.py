"""An operator on a network that lets no UDP out: the live view goes through TURN over TCP.

Chromium runs inside a network namespace (``ip netns exec`` as its executable) whose
only way out is a veth to the host, with every UDP packet dropped by nftables. From
there it reaches the web server and the gateway's WHEP endpoint (through TCP relays on
the host's end of the veth) and coturn's TCP port; the picture can only arrive relayed.
On a network that lets only TCP to the web server and to port 443 out, it comes through
TURN over TLS on 443 (coturn with a certificate made by the test, which only this
Chromium is told to accept). With the TURN server unreachable the page must say so, in
words, within seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time as wallclock
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.conf import settings
from django.utils import translation

from checks.engine import NightWorker
from console.views import live_texts
from e2e import netlab
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, stop, wait_for_gateway_quiet, wait_for_http
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, TEST_TOTP_SECRET, make_municipality, make_person

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(netlab.missing_prerequisite()), reason=netlab.missing_prerequisite() or "ok"),
]

TURN_SECRET = "e2e-turn-secret"

# The candidate pair that carries the picture, from the page's own peer connection.
SELECTED_PAIR = """async () => {
  const stats = await window.liveViewPeer.getStats();
  let pairId = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  if (!pairId) stats.forEach((s) => {
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pairId = s.id;
  });
  if (!pairId) return null;
  const pair = stats.get(pairId);
  const local = stats.get(pair.localCandidateId);
  return { localType: local.candidateType, relayProtocol: local.relayProtocol || null, bytes: pair.bytesReceived };
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("turnlab")
    with netlab.namespace() as ns:
        ns.block_udp()
        certificate = netlab.self_signed_certificate(ns.host_ip, tmp)
        with netlab.coturn(ns.host_ip, TURN_SECRET, tmp, tls=certificate, tls_port=443) as turn_port:
            yield {"ns": ns, "turn_port": turn_port, "tmp": tmp, "certificate": certificate}


@pytest.fixture(scope="module")
def turn_gateway(live_server: Any, simcam: dict[str, Any], lab: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A gateway that uses the lab's TURN, reached from the namespace through a TCP relay.

    The relays make the web server and the gateway see the same viewer address
    (127.0.0.1), as a reverse proxy in front of both would.
    """
    ns: netlab.Namespace = lab["ns"]
    port = free_port()
    web_port, whep_port = netlab.free_port(ns.host_ip), netlab.free_port(ns.host_ip)
    web_origin = f"http://{ns.host_ip}:{web_port}"
    env = {
        **os.environ,
        "NATTILLSYN_CONTROL_URL": live_server.url,
        "NATTILLSYN_GRANT_KEY": settings.GRANT_KEY,
        "NATTILLSYN_GATEWAY_TOKEN": settings.GATEWAY_TOKEN,
        "GATEWAY_ID": "gw-e2e",
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_ALLOWED_ORIGINS": web_origin,
        "GATEWAY_TURN_URL": f"turn:{ns.host_ip}:{lab['turn_port']}?transport=udp",
        "NATTILLSYN_TURN_SECRET": TURN_SECRET,
    }
    process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env)
    wait_for_http(f"http://127.0.0.1:{port}/health", process)
    live_port = int(live_server.url.rsplit(":", 1)[1])
    with (
        netlab.TcpRelay((ns.host_ip, web_port), ("127.0.0.1", live_port)),
        netlab.TcpRelay((ns.host_ip, whep_port), ("127.0.0.1", port)),
    ):
        yield {
            "web": web_origin,
            "whep": f"http://{ns.host_ip}:{whep_port}",
            "local": f"http://127.0.0.1:{port}",
            "ports": (web_port, whep_port),
        }
    stop(process)


@pytest.fixture(scope="module")
def ns_browser(lab: dict[str, Any], browser: Any) -> Iterator[Any]:
    """Debian's chromium started inside the namespace (Playwright talks to it over a pipe).

    Launched through the session's Playwright (one sync Playwright per thread).
    """
    wrapper = Path(lab["tmp"]) / "chromium-in-namespace"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {lab["ns"].name} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    ns_chromium = browser.browser_type.launch(
        executable_path=str(wrapper),
        args=[
            *CHROMIUM_ARGS,
            # The lab's TURN certificate, and no other, is accepted (turns: is verified).
            f"--ignore-certificate-errors-spki-list={lab['certificate'].spki_sha256}",
        ],
    )
    yield ns_chromium
    ns_chromium.close()


@pytest.fixture
def operator_page(
    system: dict[str, Any], turn_gateway: dict[str, Any], ns_browser: Any, lab: dict[str, Any], settings: Any
) -> Iterator[Any]:
    ns: netlab.Namespace = lab["ns"]
    settings.ALLOWED_HOSTS = [ns.host_ip, *settings.ALLOWED_HOSTS]
    settings.GATEWAY_URL = turn_gateway["whep"]
    settings.TURN_URLS = (
        f"turn:{ns.host_ip}:{lab['turn_port']}?transport=udp turn:{ns.host_ip}:{lab['turn_port']}?transport=tcp"
    )
    settings.TURN_SECRET = TURN_SECRET
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
    context = ns_browser.new_context(locale="sv-SE", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(turn_gateway["web"] + "/login/")
    page.fill("input[name=username]", "nattby-operator")
    page.fill("input[name=password]", "nattillsyn-test-password")
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/mfa/**")
    for _attempt in range(2):  # a code works once per user: the second test may wait for the next one
        page.fill("input[name=code]", pyotp.TOTP(TEST_TOTP_SECRET).at(clock.now()))
        page.click("[data-testid=verify-code]")
        page.wait_for_load_state()
        if "/mfa/" not in page.url:
            break
        wallclock.sleep(30 - wallclock.time() % 30 + 0.5)
    page.goto(turn_gateway["web"] + "/console/")
    yield page
    context.close()
    wait_for_gateway_quiet(turn_gateway["local"])


def live_view_pair(page: Any) -> dict[str, Any]:
    """Open the first check, wait for its picture, and return the candidate pair the
    browser selected for it."""
    page.locator("[data-testid=open-check]").first.click()
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]", timeout=15_000)
    # The stats lag the picture: wait for a selected pair that has carried bytes.
    pair = None
    deadline = wallclock.monotonic() + 5
    while not (pair and pair["bytes"]) and wallclock.monotonic() < deadline:
        pair = page.evaluate(SELECTED_PAIR)
        wallclock.sleep(0.1)
    assert pair is not None, "no selected candidate pair"
    return pair


def test_the_live_view_comes_through_turn_over_tcp_when_no_udp_gets_out(operator_page: Any) -> None:
    pair = live_view_pair(operator_page)
    assert pair["localType"] == "relay"
    assert pair["relayProtocol"] == "tcp"
    assert pair["bytes"] > 0


def test_the_live_view_comes_through_turn_over_tls_on_443_when_only_https_gets_out(
    operator_page: Any, lab: dict[str, Any], turn_gateway: dict[str, Any], settings: Any
) -> None:
    ns: netlab.Namespace = lab["ns"]
    # As a grant would carry them where every kind is configured: the browser must find
    # the one that gets through.
    settings.TURN_URLS = (
        f"turn:{ns.host_ip}:{lab['turn_port']}?transport=udp turn:{ns.host_ip}:{lab['turn_port']}?transport=tcp"
        f" turns:{ns.host_ip}:443?transport=tcp"
    )
    ns.allow_only_tcp([443, *turn_gateway["ports"]])  # not even TCP to TURN's 3478-like port
    try:
        pair = live_view_pair(operator_page)
        assert pair["localType"] == "relay"
        assert pair["relayProtocol"] == "tls"
        assert pair["bytes"] > 0
    finally:
        ns.block_udp()


def test_with_the_turn_server_down_the_page_says_so(operator_page: Any, lab: dict[str, Any], settings: Any) -> None:
    ns: netlab.Namespace = lab["ns"]
    dead_port = netlab.free_port(ns.host_ip)  # nothing listens there: as a TURN server that is down
    settings.TURN_URLS = f"turn:{ns.host_ip}:{dead_port}?transport=tcp"
    page = operator_page
    page.locator("[data-testid=open-check]").first.click()
    page.wait_for_url("**/console/attempts/*/")
    started = wallclock.monotonic()
    page.wait_for_selector("#live[data-state=ended]", timeout=20_000)
    assert wallclock.monotonic() - started < 15  # a message, not an endless spinner
    with translation.override("sv"):
        expected = live_texts()["relay_unreachable"]
    assert page.text_content("#live-status") == expected
