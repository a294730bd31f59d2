"""Networks benchmark: the live view through TURN, and over a weak camera uplink.

Needs root (network namespaces; see e2e/netlab.py) and stays on this machine: every
address is loopback or a private /30 inside a namespace this script makes and removes.

1. TURN: Chromium runs inside a namespace joined to the host by a veth pair. Warm first
   frames (the camera prepared, as when a check is opened) are measured directly (UDP
   allowed, no ICE servers) and then, in the same run, with every UDP packet out of the
   namespace dropped and the browser given TURN over TCP only (coturn on the host's end).
2. Weak uplink: the simulated camera runs inside a namespace whose way out is shaped with
   ``tc tbf`` (2 Mbit/s, then 0.7 Mbit/s), and a TCP relay at the host's end of the link
   adds 150 ms each way at 0.7 Mbit/s (the kernel here has no netem). The gateway pulls
   RTSP over TCP through it; Chromium (on the host) watches each view for a while, and the
   stall ratio is the share of that time spent on gaps of more than 0.3 s between frames.

Ends with ``name: value`` lines. ``--quick`` for a short run.

    .venv/bin/python benchmarks/networks.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import CHROMIUM, CHROMIUM_ARGS, BenchControlPlane, gateway, simcam, simcam_url  # noqa: E402
from _common import say as log  # noqa: E402
from live_view import percentile  # noqa: E402

from e2e import netlab  # noqa: E402
from gateway.turn import ice_servers  # noqa: E402

TURN_SECRET = "bench-turn-secret"
STALL_GAP_S = 0.3  # 15 fps: four frames missing in a row is a visible freeze
SIZE, FPS, KEYINT_S = "1280x720", 15, 2.0

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>networks benchmark</title>
<video id="video" muted autoplay playsinline width="640" height="360"></video>
<button id="view">view</button>
<script>
"use strict";
const video = document.getElementById("video");
let pc = null, sessionUrl = null, token = null, WATCH_S = 2, ICE = [];
window.result = null;

// As static/console/liveview.js: host candidates settle 30 ms after the first; with TURN,
// 30 ms after the first relayed one; at most 1 s.
function waitForIce(peer, relay) {
  return new Promise((resolve) => {
    if (peer.iceGatheringState === "complete") { resolve(); return; }
    let settling = null;
    peer.addEventListener("icegatheringstatechange", () => { if (peer.iceGatheringState === "complete") resolve(); });
    peer.addEventListener("icecandidate", (event) => {
      if (!event.candidate || settling !== null) return;
      if (!relay || event.candidate.type === "relay") settling = setTimeout(resolve, 30);
    });
    setTimeout(resolve, 1000);
  });
}

async function openView(clickedAt) {
  await startViewer(ICE, (peer) => waitForIce(peer, ICE.length > 0));
  const offered = performance.now();
  const answer = await postOffer();
  if (answer === null) return;
  const answered = performance.now();
  // Where the time goes: ICE connected, DTLS connected (picture may flow), first RTP byte.
  const phases = {};
  const mark = (name) => { if (!(name in phases)) phases[name] = (performance.now() - clickedAt) / 1000; };
  const peer = pc;
  peer.addEventListener("iceconnectionstatechange", () => {
    if (peer.iceConnectionState === "connected") mark("ice_s");
  });
  peer.addEventListener("connectionstatechange", () => { if (peer.connectionState === "connected") mark("dtls_s"); });
  const pollBytes = async () => {
    while (!("rtp_s" in phases) && peer.connectionState !== "closed") {
      const stats = await peer.getStats();
      stats.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video" && s.bytesReceived > 0) mark("rtp_s");
      });
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  pollBytes();
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const frames = [];
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    const end = performance.now();
    let stall = 0;
    const times = frames.concat([end]);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i] - times[i - 1];
      if (gap > STALL_GAP_MS) stall += gap;
    }
    let quality = null;
    try { quality = (await fetch(sessionUrl)).headers.get("Picture-Quality"); } catch (error) {}
    const health = {};
    try {
      const stats = await peer.getStats();
      let pairId = null;
      stats.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        if (s.type === "inbound-rtp" && s.kind === "video") {
          for (const key of ["packetsLost", "nackCount", "pliCount", "framesDropped", "keyFramesDecoded",
                             "retransmittedPacketsReceived", "freezeCount", "totalFreezesDuration"]) {
            health[key] = s[key];
          }
        }
      });
      if (pairId) {
        const pair = stats.get(pairId);
        const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
        health.pair = local.candidateType + "/" + (local.relayProtocol || local.protocol) + "->" + remote.candidateType;
      }
    } catch (error) {}
    window.result = frames.length === 0 ? { error: "no frame" } : {
      first_frame_s: (frames[0] - clickedAt) / 1000,
      offer_s: (offered - clickedAt) / 1000,
      answer_s: (answered - clickedAt) / 1000,
      ...phases,
      ...health,
      watched_s: (end - frames[0]) / 1000,
      stall_s: stall / 1000,
      frames: frames.length,
      height: video.videoHeight,
      quality: quality,
    };
  };
  const onFrame = (now) => {
    frames.push(now);
    if (now - frames[0] < WATCH_S * 1000) video.requestVideoFrameCallback(onFrame); else finish();
  };
  video.requestVideoFrameCallback(onFrame);
  // A picture that froze for good still ends the measurement (its freeze counted).
  setTimeout(() => {
    if (!frames.length) { finish(); return; }
    setTimeout(finish, Math.max(0, WATCH_S * 1000 - (performance.now() - frames[0])));
  }, 15000);
}
</script>
"""


def control_plane() -> BenchControlPlane:
    """The benchmark's control plane, serving this page."""
    return BenchControlPlane(PAGE, page_constants={"STALL_GAP_MS": STALL_GAP_S * 1000})


async def watch(page: Any, token: str, watch_s: float, ice: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    await page.evaluate("([t, w, i]) => { token = t; WATCH_S = w; ICE = i; }", [token, watch_s, ice or []])
    await page.click("#view")
    await page.wait_for_function("window.result !== null", timeout=(watch_s + 25) * 1000)
    result: dict[str, Any] = await page.evaluate("window.result")
    await page.evaluate("closeView()")
    return result


async def series(page: Any, control: BenchControlPlane, views: int, watch_s: float, label: str) -> list[dict[str, Any]]:
    """``views`` warm views one after another: the next grant is prepared while one runs."""
    results = []
    _, token = control.grant()
    await control.prepare(token)
    await asyncio.sleep(KEYINT_S + 1.0)
    for index in range(views):
        _, next_token = control.grant()
        await control.prepare(next_token)
        result = await watch(page, token, watch_s)
        log(f"{label} view {index + 1}/{views}: {result}")
        results.append(result)
        token = next_token
        await asyncio.sleep(0.3)
    return results


async def alternating(
    page: Any, control: BenchControlPlane, ns: netlab.Namespace, urls: dict[str, str], web_ports: list[int], opens: int
) -> dict[str, list[dict[str, Any]]]:
    """Direct, TURN/TCP and TURN/TLS views in turn, so that the machine's load falls on all alike.

    direct: UDP allowed, no ICE servers. turn: every UDP packet out of the browser's
    namespace dropped, TURN over TCP only. turn_tls: nothing but TCP to 443 (TURN over
    TLS) and to the web server gets out; the page gets every TURN URL, as a grant of an
    installation with all three would carry them (credentials as a grant would carry them).
    """
    modes = ("direct", "turn", "turn_tls")
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    _, token = control.grant()
    await control.prepare(token)
    await asyncio.sleep(KEYINT_S + 1.0)
    for index in range(len(modes) * opens):
        mode = modes[index % len(modes)]
        ice: list[dict[str, Any]] = []
        if mode == "turn":
            ns.block_udp()
            ice = ice_servers([urls["tcp"]], TURN_SECRET, "bench", time.time() + 3600)
        elif mode == "turn_tls":
            ns.allow_only_tcp([443, *web_ports])
            ice = ice_servers([urls["udp"], urls["tcp"], urls["tls"]], TURN_SECRET, "bench", time.time() + 3600)
        else:
            ns.unblock_udp()
        _, next_token = control.grant()
        await control.prepare(next_token)
        drops_before = udp_receive_buffer_drops()
        result = await watch(page, token, 2.0, ice)
        # UDP datagrams the host's kernel dropped on a full socket receive buffer during
        # the view (coturn's relay sockets, the gateway's): where a burst is lost.
        result["host_udp_rcvbuf_drops"] = udp_receive_buffer_drops() - drops_before
        log(f"{mode} view {index // len(modes) + 1}/{opens}: {result}")
        runs[mode].append(result)
        token = next_token
        await asyncio.sleep(0.3)
    ns.unblock_udp()
    return runs


def udp_receive_buffer_drops() -> int:
    """The host namespace's count of UDP datagrams dropped on a full receive buffer."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    return int(dict(zip(lines[0][1:], lines[1][1:], strict=True))["RcvbufErrors"])


def first_frames(results: list[dict[str, Any]]) -> list[float]:
    return [r["first_frame_s"] for r in results if "first_frame_s" in r]


def stall_ratio(results: list[dict[str, Any]]) -> float:
    watched = sum(r.get("watched_s", 0.0) for r in results)
    stalled = sum(r.get("stall_s", 0.0) for r in results)
    failed = sum(1 for r in results if "error" in r)
    return 1.0 if watched == 0 or failed == len(results) else round(stalled / watched, 4)


def namespace_browser_wrapper(ns: netlab.Namespace, directory: str) -> str:
    wrapper = Path(directory) / "chromium-in-namespace"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {ns.name} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


async def turn_benchmark(args: argparse.Namespace, results: dict[str, Any], tmp: str) -> None:
    from playwright.async_api import async_playwright

    control = control_plane()
    with (
        netlab.namespace() as ns,
        netlab.coturn(
            ns.host_ip,
            TURN_SECRET,
            Path(tmp),
            tls=(certificate := netlab.self_signed_certificate(ns.host_ip, Path(tmp))),
        ) as turn_port,
    ):
        web_port, whep_port = netlab.free_port(ns.host_ip), netlab.free_port(ns.host_ip)
        origin = f"http://{ns.host_ip}:{web_port}"
        async with control.serving() as control_url, async_playwright() as playwright:
            with simcam(SIZE, FPS, KEYINT_S) as rtsp_port:
                control.rtsp_url = simcam_url(rtsp_port)
                settings = {
                    "GATEWAY_TURN_URL": f"turn:{ns.host_ip}:{turn_port}?transport=udp",
                    "NATTILLSYN_TURN_SECRET": TURN_SECRET,
                }
                if args.pacing_kbit is not None:
                    settings["GATEWAY_PACING_KBIT"] = args.pacing_kbit
                async with gateway(control_url, origin, **settings) as gw:
                    control_port, gateway_port = int(control_url.rsplit(":", 1)[1]), int(gw.url.rsplit(":", 1)[1])
                    with (
                        netlab.TcpRelay((ns.host_ip, web_port), ("127.0.0.1", control_port)),
                        netlab.TcpRelay((ns.host_ip, whep_port), ("127.0.0.1", gateway_port)),
                    ):
                        control.gateway_url = f"http://{ns.host_ip}:{whep_port}"
                        browser = await playwright.chromium.launch(
                            executable_path=namespace_browser_wrapper(ns, tmp),
                            # turns: is verified: only the lab's certificate is accepted.
                            args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={certificate.spki_sha256}"],
                        )
                        try:
                            page = await browser.new_page()
                            await page.goto(origin)
                            urls = {
                                "udp": f"turn:{ns.host_ip}:{turn_port}?transport=udp",
                                "tcp": f"turn:{ns.host_ip}:{turn_port}?transport=tcp",
                                "tls": f"turns:{ns.host_ip}:443?transport=tcp",
                            }
                            runs = await alternating(page, control, ns, urls, [web_port, whep_port], args.opens)
                        finally:
                            await browser.close()
    for name, runs_of_mode in runs.items():
        firsts = first_frames(runs_of_mode)
        results[f"{name}.views"] = len(firsts)
        results[f"{name}.failed"] = len(runs_of_mode) - len(firsts)
        if name != "direct":  # relayed, as the network leaves no other way (checked, not assumed)
            results[f"{name}.not_relayed"] = sum(1 for r in runs_of_mode if not r.get("pair", "").startswith("relay"))
        if firsts:
            results[f"{name}.first_frame_p50_s"] = round(statistics.median(firsts), 3)
            results[f"{name}.first_frame_p95_s"] = round(percentile(firsts, 0.95), 3)
    for name in ("turn", "turn_tls"):
        if f"{name}.first_frame_p95_s" in results and "direct.first_frame_p95_s" in results:
            results[f"{name}.first_frame_p95_over_direct_s"] = round(
                results[f"{name}.first_frame_p95_s"] - results["direct.first_frame_p95_s"], 3
            )


async def uplink_benchmark(args: argparse.Namespace, results: dict[str, Any]) -> None:
    from playwright.async_api import async_playwright

    control = control_plane()
    # simcam inside the namespace, on its end of the veth.
    with (
        netlab.namespace() as ns,
        simcam(SIZE, FPS, KEYINT_S, prefix=ns.exec_prefix(), bind=ns.ns_ip, start_s=40) as rtsp_port,
    ):
        async with control.serving() as control_url, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                async with gateway(control_url, control_url, GATEWAY_CAMERA_OPEN_TIMEOUT_S="10") as gw:
                    control.gateway_url = gw.url
                    for rate_kbit, delay_s, views, watch_s, name in (
                        (2000, 0.0, args.views_2mbit, args.watch_s, "2mbit"),
                        (700, 0.150, args.views_weak, args.watch_s * 2, "0_7mbit_150ms"),
                    ):
                        ns.shape(rate_kbit, inside=True)  # the camera's uplink
                        relay_port = netlab.free_port()
                        with netlab.TcpRelay(("127.0.0.1", relay_port), (ns.ns_ip, rtsp_port), delay_s):
                            base = simcam_url(relay_port)
                            control.rtsp_url, control.sub_url = base, base + "/sub"
                            page = await browser.new_page()
                            await page.goto(control_url)
                            runs = await series(page, control, views, watch_s, name)
                            await page.close()
                        firsts = first_frames(runs)
                        results[f"uplink.views_{name}"] = len(firsts)
                        if firsts:
                            results[f"uplink.first_frame_p95_s_{name}"] = round(percentile(firsts, 0.95), 3)
                        results[f"uplink.stall_ratio_{name}"] = stall_ratio(runs)
                        results[f"uplink.sub_stream_views_{name}"] = sum(1 for r in runs if r.get("quality") == "sub")
                        if name != "2mbit" and len(runs) > 1:
                            # The first view finds out that the link is weak (and switches);
                            # the gateway remembers, so later checks start on the sub stream.
                            results[f"uplink.stall_ratio_{name}_first_view"] = stall_ratio(runs[:1])
                            results[f"uplink.first_frame_s_{name}_first_view"] = round(
                                runs[0].get("first_frame_s", float("nan")), 3
                            )
                            results[f"uplink.stall_ratio_{name}"] = stall_ratio(runs[1:])
                            if later := first_frames(runs[1:]):
                                results[f"uplink.first_frame_p95_s_{name}"] = round(percentile(later, 0.95), 3)
            finally:
                await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer views (about 3 minutes)")
    parser.add_argument("--only", choices=("turn", "uplink"), help="one of the two parts")
    parser.add_argument("--opens", type=int, help="TURN and direct views each (default 20, quick 8)")
    parser.add_argument("--pacing-kbit", help="the gateway's GATEWAY_PACING_KBIT (0: no pacing)")
    args = parser.parse_args()
    args.opens = args.opens or (8 if args.quick else 20)
    args.views_2mbit = 4 if args.quick else 10
    args.views_weak = 3 if args.quick else 6
    args.watch_s = 5.0 if args.quick else 10.0
    reason = netlab.missing_prerequisite()
    if reason:
        print(f"networks: skipped ({reason})")
        return
    results: dict[str, Any] = {}
    if args.only != "uplink":
        with tempfile.TemporaryDirectory(prefix="netbench-") as tmp:
            asyncio.run(turn_benchmark(args, results, tmp))
    if args.only != "turn":
        asyncio.run(uplink_benchmark(args, results))
    for name, value in results.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
