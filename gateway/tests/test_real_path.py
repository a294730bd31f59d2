"""The real path: RTSP from simcam → gateway → WebRTC → an aiortc receiver decoding frames."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import av

from gateway.probe import probe_camera
from gateway.tests.camera_process import simulated_cameras
from gateway.tests.fakes import GATEWAY_TOKEN, FakeControlPlane, WhepClient, make_grant, running_gateway


async def test_a_real_camera_reaches_a_webrtc_receiver_fast_after_prepare() -> None:
    with simulated_cameras("cam1:asleep", size="320x180", fps=10, keyint_s=2.0) as cameras:
        control = FakeControlPlane(rtsp_url=cameras.url("cam1"))
        async with running_gateway(control=control, real_cameras=True) as harness:
            grant = make_grant("g-real")
            async with aiohttp.ClientSession() as http:
                response = await http.post(
                    f"{harness.url}/internal/prepare",
                    json={"grant": grant, "rtsp_url": cameras.url("cam1"), "rtsp_transport": "tcp"},
                    headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"},
                )
                assert response.status == 202
            await asyncio.sleep(2.5)  # the operator reads the check before pressing "view"
            client = WhepClient()
            assert await client.connect(harness.url, grant) == 201
            first = await client.first(timeout_s=3)
            frame = first.item
            assert isinstance(frame, av.VideoFrame) and (frame.width, frame.height) == (320, 180)
            (session,) = harness.gateway._sessions.values()
            assert session.first_frame_cached  # started at the cached keyframe…
            assert first.at - client.offered_at < 0.5  # …so no wait for the camera's next one
            await asyncio.sleep(1.5)
            assert len(client.received) >= 10  # live after the cached burst, at 10 fps
            assert await client.delete(harness.url, grant) == 200
            ended = await control.wait_event("ended", client.session_id)
            assert ended["reason"] == "viewer_deleted" and ended["bytes_sent"] > 10_000
            assert ended["transcoded"] is False
            await client.close()


async def test_the_probe_tells_live_frozen_black_and_unreachable_cameras_apart() -> None:
    scenarios = ("cam1:asleep", "cam2:frozen", "cam3:dark", "cam4:offline")
    with simulated_cameras(*scenarios, size="640x360", fps=10, keyint_s=1.0) as cameras:
        started = time.monotonic()
        asleep, frozen, dark, offline, wrong_password = await asyncio.gather(
            *(
                asyncio.to_thread(probe_camera, url, "tcp", 2.0)
                for url in [cameras.url(name) for name in ("cam1", "cam2", "cam3", "cam4")]
                + [cameras.url("cam1", password="not-the-password")]
            )
        )
        assert time.monotonic() - started < 10
    assert asleep.reachable and not asleep.black and not asleep.frozen
    assert (asleep.width, asleep.height) == (640, 360) and abs(asleep.fps - 10) < 1
    assert frozen.reachable and frozen.frozen and not frozen.black
    assert dark.reachable and dark.black
    assert not offline.reachable and offline.error
    assert not wrong_password.reachable and "not-the-password" not in (wrong_password.error or "")
