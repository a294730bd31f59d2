"""Blurred views: gateway CPU per blurred 720p stream, next to pass-through, and first frame.

Runs the real gateway (``gateway.service.Gateway`` with its HTTP face, aiortc, PyAV) in
this process, with a simulated 720p camera per view (real H.264 pictures at 15 fps,
keyframe every 2 s: ``gateway.tests.fakes.H264Camera``) and a stand-in control plane.
The viewers (aiortc WHEP clients that do not decode) run in a separate process, so
this process's CPU time is the gateway's (and the simulated cameras', the same in
both modes).

For each mode (pass-through, blurred): N grants are prepared (as the worker does for a
due check, so the camera's keyframe is cached), N viewers connect at once, and
1. first frame: offer sent → first picture received, per viewer;
2. CPU: process CPU time / wall time over a window once all N are live, divided by N.

Prints ``name: value`` lines:
    blur.cores_per_stream          (goal ≤ 0.15 at 720p)
    blur.cpu_ratio_vs_passthrough  (blurred cores per stream / pass-through's)
    blur.first_frame_p95_s         (goal ≤ 0.5 s)

    .venv/bin/python benchmarks/blur.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from gateway.tests.fakes import (  # noqa: E402
    GATEWAY_TOKEN,
    FakeControlPlane,
    H264Camera,
    WhepClient,
    make_grant,
    running_gateway,
)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# -- the viewers' process ----------------------------------------------------------------


async def receive(url: str, grants: list[str], hold_s: float) -> None:
    """Connect every grant at once; print first-frame times as JSON; hold the views."""
    import aiortc.rtcrtpreceiver

    class Undecoded:
        def decode(self, encoded_frame: Any) -> list[Any]:
            return [encoded_frame]

    aiortc.rtcrtpreceiver.get_decoder = lambda codec: Undecoded()  # type: ignore[assignment,return-value]
    clients = [WhepClient() for _ in grants]
    statuses = await asyncio.gather(
        *(client.connect(url, grant) for client, grant in zip(clients, grants, strict=True))
    )
    assert all(status == 201 for status in statuses), statuses
    firsts = await asyncio.gather(*(client.first(timeout_s=30) for client in clients))
    seconds = [first.at - client.offered_at for first, client in zip(firsts, clients, strict=True)]
    print(json.dumps({"first_frame_s": seconds}), flush=True)
    await asyncio.sleep(hold_s)
    for client in clients:
        await client.close()


# -- the gateway's process ---------------------------------------------------------------


async def prepare(url: str, grant: str, camera_url: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/internal/prepare",
            json={"grant": grant, "rtsp_url": camera_url, "rtsp_transport": "tcp"},
            headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"},
        ) as response,
    ):
        assert response.status == 202, response.status


async def run_mode(blurred: bool, viewers: int, window_s: float, camera: H264Camera) -> tuple[float, list[float]]:
    """(cores per stream, first-frame seconds) for ``viewers`` concurrent views."""
    control = FakeControlPlane()
    async with running_gateway(camera, control) as harness:
        grants, camera_urls = [], []
        for index in range(viewers):
            gid = f"bench-{'blur' if blurred else 'clear'}-{index}"
            camera_url = f"rtsp://bench.invalid/cam{index}"  # a camera per person, as in a night
            control.redeem_answers[gid] = (200, {"rtsp_url": camera_url, "rtsp_transport": "tcp", "blur": blurred})
            grants.append(make_grant(gid))
            camera_urls.append(camera_url)
        await asyncio.gather(*(prepare(harness.url, g, u) for g, u in zip(grants, camera_urls, strict=True)))
        deadline = time.monotonic() + 10
        while sum(reader.warm for reader in harness.gateway._readers.values()) < viewers:
            assert time.monotonic() < deadline, "cameras did not warm up"
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # a realistic cache: a keyframe and what followed
        hold_s = window_s + 3.0
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--receive",
            harness.url,
            str(hold_s),
            *grants,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        first_frames = json.loads(line)["first_frame_s"]
        await asyncio.sleep(1.0)  # past the start-up burst
        cpu_start, wall_start = time.process_time(), time.monotonic()
        await asyncio.sleep(window_s)
        cores = (time.process_time() - cpu_start) / (time.monotonic() - wall_start)
        live = len(harness.gateway._sessions)
        await process.wait()
    assert live == viewers, f"only {live} of {viewers} views lived through the window"
    return cores / viewers, first_frames


async def main(quick: bool) -> None:
    viewers = 4 if quick else 10
    window_s = 5.0 if quick else 15.0
    # 1280x720 at 15 fps as simcam, with sensor noise: about a real camera's bitrate.
    camera = H264Camera(fps=15, seconds=2.0, noise=6)
    print(f"blur.camera_kbit_s: {sum(map(len, camera.units)) * 8 / 2.0 / 1000:.0f}")
    clear_cores, clear_first = await run_mode(False, viewers, window_s, camera)
    blur_cores, blur_first = await run_mode(True, viewers, window_s, camera)
    print(f"blur.viewers: {viewers}")
    print(f"blur.passthrough_cores_per_stream: {clear_cores:.4f}")
    print(f"blur.passthrough_first_frame_p95_s: {p95(clear_first):.3f}")
    print(f"blur.first_frame_median_s: {statistics.median(blur_first):.3f}")
    print(f"blur.first_frame_p95_s: {p95(blur_first):.3f}")
    print(f"blur.cores_per_stream: {blur_cores:.4f}")
    print(f"blur.cpu_ratio_vs_passthrough: {blur_cores / clear_cores:.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--receive":
        asyncio.run(receive(sys.argv[2], sys.argv[4:], float(sys.argv[3])))
    else:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--quick", action="store_true", help="4 viewers, 5 s window")
        asyncio.run(main(parser.parse_args().quick))
