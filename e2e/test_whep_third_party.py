"""The gateway played by a WHEP player it was not written with: Eyevinn's
@eyevinn/webrtc-player from npm (e2e/whep_player/), bundled as it is, in Chromium, against
the real gateway, simulated camera and control plane, with real grants.

Not the product's client (static/console/liveview.js): what works here works for any
player that follows draft-ietf-wish-whep as this one does.
"""

from __future__ import annotations

import math
import subprocess
import time as wallclock
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Role
from cameras.actions import grant_token, open_training_view, save_camera
from cameras.models import ViewGrant
from e2e.conftest import ROOT
from nattillsyn.testing import make_municipality, make_training_camera

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PLAYER_DIR = ROOT / "e2e" / "whep_player"
OPENS = 6  # first-frame samples; p95 of six is their maximum
VIEW_S = 4

# Records every RTCPeerConnection the player makes (it makes a new one to reconnect):
# its connection states with wall-clock times, comparable with the gateway's.
WATCH_PEER_CONNECTIONS = """
() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    const record = { states: [] };
    window.__pcs.push(record);
    pc.addEventListener("connectionstatechange", () => record.states.push([pc.connectionState, Date.now()]));
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
}
"""

START_PLAYER = """
async ([token, gateway]) => {
  const video = document.createElement("video");
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.appendChild(video);
  const watch = { startedAt: performance.now(), firstFrameAt: null, frames: 0, events: [] };
  window.__watch = watch;
  const count = () => {
    watch.frames++;
    if (watch.firstFrameAt === null) watch.firstFrameAt = performance.now();
    video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
  // No public STUN server (the player's default), as the product's own client.
  const player = new window.WhepPlayer.WebRTCPlayer({ video, type: "whep", iceServers: [] });
  for (const name of ["initial-connection-failed", "peer-connection-failed", "connect-error"]) {
    player.on(name, () => watch.events.push(name));
  }
  window.__player = player;
  await player.load(new URL(gateway + "/whep"), "Bearer " + token);
}
"""

FIRST_FRAME_S = """
() => window.__watch.firstFrameAt === null ? null : (window.__watch.firstFrameAt - window.__watch.startedAt) / 1000
"""
DELETE_STATUS = """
async ([url, token]) => (await fetch(url, { method: "DELETE", headers: { Authorization: "Bearer " + token } })).status
"""


@pytest.fixture(scope="session")
def player_bundle(tmp_path_factory: pytest.TempPathFactory) -> str:
    esbuild = PLAYER_DIR / "node_modules" / ".bin" / "esbuild"
    assert esbuild.exists(), "run `make deps` (npm ci in e2e/whep_player)"
    out = tmp_path_factory.mktemp("whep_player") / "player.js"
    subprocess.run(
        [str(esbuild), "entry.mjs", "--bundle", "--platform=browser", "--format=iife", f"--outfile={out}"],
        cwd=PLAYER_DIR,
        check=True,
        capture_output=True,
    )
    return Path(out).read_text(encoding="utf-8")


@pytest.fixture
def training(system: dict[str, Any]) -> dict[str, Any]:
    home = make_municipality("Spelby kommun", "spelby")
    home.tenant.view_seconds = VIEW_S
    home.tenant.save()
    camera = save_camera(
        make_training_camera(home),
        actor=home.user(Role.INSTALLER),
        tenant=home.tenant,
        stream_url=f"{system['rtsp']}/training",
        username="demo",
        password="demo",
    )
    return {"home": home, "camera": camera}


def issue(training: dict[str, Any]) -> tuple[ViewGrant, str]:
    """A grant as the console issues it to a browser on this machine; the gateway is asked
    to prepare (pull the camera) when it is issued, as when an operator opens a check."""
    grant = open_training_view(training["camera"], actor=training["home"].user(Role.OPERATOR), ip="127.0.0.1")
    return grant, grant_token(grant)


@pytest.fixture
def player_page(browser: Any, system: dict[str, Any], player_bundle: str) -> Iterator[Any]:
    """A page of the control plane's origin (the gateway's CORS allows only that) with the
    player loaded, and every WHEP request and answer it makes."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    traffic: list[Any] = []
    page.on("response", lambda response: traffic.append(response) if "/whep" in response.url else None)
    page.on("console", lambda message: print("player console:", message.text))  # shown when a test fails

    def load() -> Any:
        traffic.clear()
        page.goto(system["url"] + "/login/")
        page.evaluate(player_bundle)
        page.evaluate(WATCH_PEER_CONNECTIONS)
        return page

    page.load_player = load  # type: ignore[attr-defined]
    page.whep_traffic = traffic  # type: ignore[attr-defined]
    yield page
    context.close()


def whep(page: Any, method: str) -> list[Any]:
    return [r for r in page.whep_traffic if r.request.method == method]


def wait_for(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = wallclock.monotonic() + timeout_s
    while not (value := condition()):
        assert wallclock.monotonic() < deadline, f"{what} within {timeout_s} s"
        wallclock.sleep(0.05)
    return value


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def test_a_third_party_whep_player_plays_and_deletes(
    training: dict[str, Any], player_page: Any, system: dict[str, Any], headline: Any
) -> None:
    first_frames = []
    page = player_page
    for _open in range(OPENS):
        grant, token = issue(training)
        wallclock.sleep(2.5)  # the operator reads the check before pressing "view"; the gateway prepares
        page.load_player()
        page.evaluate(START_PLAYER, [token, system["gateway"]])
        first_frames.append(wait_for(lambda: page.evaluate(FIRST_FRAME_S), 10, "a first frame"))
        wait_for(lambda: page.evaluate("() => window.__watch.frames") >= 5, 5, "moving video")
        (post,) = whep(page, "POST")
        assert post.status == 201 and post.headers["location"].startswith("/whep/sessions/")
        page.evaluate("() => window.__player.unload()")  # the player's DELETE on its session
        delete = wait_for(lambda: whep(page, "DELETE"), 5, "a DELETE")[0]
        assert delete.status == 200
        wait_for(lambda g=grant: ViewGrant.objects.get(id=g.id).end_reason, 5, "the end of the view reported")
        assert ViewGrant.objects.get(id=grant.id).end_reason == "viewer_deleted"
        wallclock.sleep(0.5)
        assert len(whep(page, "POST")) == 1  # the player did not take the end for a failure to repair
    headline("whep.third_party_first_frame_p95_s", round(p95(first_frames), 3))
    headline("whep.third_party_first_frame_p50_s", round(sorted(first_frames)[len(first_frames) // 2], 3))
    print(f"whep.third_party_first_frame_p95_s: {p95(first_frames):.3f}")
    print("first frames (s):", ", ".join(f"{value:.3f}" for value in first_frames))


def test_the_end_of_a_view_is_immediate_and_a_spent_grant_is_not_retried(
    training: dict[str, Any], player_page: Any, system: dict[str, Any], headline: Any
) -> None:
    grant, token = issue(training)
    page = player_page.load_player()
    page.evaluate(START_PLAYER, [token, system["gateway"]])
    wait_for(lambda: page.evaluate(FIRST_FRAME_S), 10, "a first frame")
    ended_at = wait_for(lambda: ViewGrant.objects.get(id=grant.id).ended_at, VIEW_S + 5, "the cut").timestamp()
    assert ViewGrant.objects.get(id=grant.id).end_reason == "grant_end"

    def noticed() -> float | None:
        first_pc = page.evaluate("() => window.__pcs[0].states")
        ends = [at / 1000 for state, at in first_pc if state in ("failed", "closed")]
        return ends[0] if ends else None

    noticed_at = wait_for(noticed, 8, "the player's peer connection ending")
    headline("whep.third_party_end_noticed_s", round(noticed_at - ended_at, 3))
    print(f"whep.third_party_end_noticed_s: {noticed_at - ended_at:.3f}")
    assert noticed_at - ended_at < 1.0
    # The player reconnects a failed connection once, with the same grant: refused for
    # good (403, not a 409 it would retry), and it gives up.
    wait_for(lambda: "initial-connection-failed" in page.evaluate("() => window.__watch.events"), 5, "giving up")
    wallclock.sleep(3)
    posts = whep(page, "POST")
    assert [p.status for p in posts] == [201, 403]
    assert posts[1].json()["error"] == "grant already used"
    # A late DELETE on the ended session: 404, as for any session that is gone.
    status = page.evaluate(DELETE_STATUS, [system["gateway"] + posts[0].headers["location"], token])
    assert status == 404


def test_a_spent_grant_is_refused_once_without_a_retry_loop(
    training: dict[str, Any], player_page: Any, system: dict[str, Any]
) -> None:
    grant, token = issue(training)
    ViewGrant.objects.filter(id=grant.id).update(redeemed_at=grant.issued_at)  # used elsewhere already
    page = player_page.load_player()
    page.evaluate(START_PLAYER, [token, system["gateway"]])
    wait_for(lambda: "initial-connection-failed" in page.evaluate("() => window.__watch.events"), 10, "giving up")
    wallclock.sleep(3)  # a retry loop would show here
    (post,) = whep(page, "POST")
    assert post.status == 403 and post.json() == {"error": "grant already used", "code": "grant_refused"}
    assert page.evaluate("() => window.__watch.frames") == 0
