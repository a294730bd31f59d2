"""A camera link that cannot carry the main stream: the reader moves to the sub stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from gateway.reader import SWITCH_LAG_S, CameraReader, LagMeter, ViewerFeed
from gateway.rtsp import VIDEO_CLOCK_HZ, MediaPacket
from gateway.tests.fakes import FakeCamera, FakeCameraStream, FakeControlPlane, WhepClient, make_grant, running_gateway

MAIN, SUB = "rtsp://cam/main", "rtsp://cam/sub"


@given(frames=st.integers(min_value=2, max_value=300), jitter=st.lists(st.floats(0, 0.5), min_size=300, max_size=300))
def test_a_stream_that_keeps_pace_never_lags_beyond_its_jitter(frames: int, jitter: list[float]) -> None:
    meter = LagMeter()
    lags = [meter.lag(i * VIDEO_CLOCK_HZ // 10, 100 + i / 10 + jitter[i]) for i in range(frames)]
    assert max(lags) <= max(jitter[:frames]) + 1e-9


def test_a_stream_slower_than_its_clock_lags_more_and_more() -> None:
    meter = LagMeter()
    lags = [meter.lag(i * VIDEO_CLOCK_HZ // 10, i / 10 * 1.5) for i in range(100)]  # a link at 2/3 of the bitrate
    assert lags == sorted(lags) and lags[-1] > SWITCH_LAG_S
    assert meter.lag(None, 1e9) == 0.0  # no timestamp: no verdict


class SlowLinkStream(FakeCameraStream):
    """The main stream over a link that carries two thirds of it: packets arrive ever later."""

    def packets(self) -> Iterator[MediaPacket]:
        for packet in super().packets():
            yield MediaPacket(packet.data, packet.pts, packet.keyframe, packet.arrival + (packet.pts or 0) / 180_000)


class WeakLinkCamera(FakeCamera):
    def __init__(self) -> None:
        super().__init__(fps=25, keyint_s=0.4)
        self.urls: list[str] = []

    def __call__(self, url: str, transport: str) -> FakeCameraStream:
        self.urls.append(url)
        return SlowLinkStream(self) if url == MAIN else FakeCameraStream(self)


async def test_the_reader_switches_to_the_sub_stream_and_viewers_restart_at_a_keyframe() -> None:
    camera = WeakLinkCamera()
    switched: list[CameraReader] = []
    reader = CameraReader(
        url=MAIN,
        transport="tcp",
        label="1",
        opener=camera,
        gop_cache_bytes=1 << 20,
        on_lost=lambda _reader, reason: None,
        sub_url=SUB,
        on_switch=switched.append,
    )
    feed = ViewerFeed(10_000)
    reader.attach(feed)
    reader.start()
    deadline = time.monotonic() + 10
    while reader.quality != "sub":
        assert time.monotonic() < deadline, "never switched"
        await asyncio.sleep(0.05)
    assert switched == [reader] and camera.urls == [MAIN, SUB]
    # What the viewer gets after the main stream's last packet starts with a keyframe.
    packets: list[MediaPacket] = []
    restart = None
    while restart is None or len(packets) < restart + 5:
        packet, _ = await asyncio.wait_for(feed.next(), 5)
        if packets and restart is None and (packet.pts or 0) < (packets[-1].pts or 0):
            restart = len(packets)  # the sub stream counts from 0 again
        packets.append(packet)
    reader.stop()
    await reader.join(2)
    assert packets[restart].keyframe


async def test_the_operator_is_told_and_the_next_view_starts_on_the_sub_stream() -> None:
    camera = WeakLinkCamera()
    control = FakeControlPlane()
    async with running_gateway(camera, control) as harness, aiohttp.ClientSession() as http:
        for attempt in range(2):
            gid = f"weak-{attempt}"
            grant = make_grant(gid)
            control.redeem_answers[gid] = (200, {"rtsp_url": MAIN, "sub_rtsp_url": SUB})
            client = WhepClient()
            assert await client.connect(harness.url, grant) == 201
            deadline = time.monotonic() + 10
            while True:
                response = await http.get(f"{harness.url}{client.location}")
                if response.headers["Picture-Quality"] == "sub":
                    break
                assert attempt == 0 and time.monotonic() < deadline, "the operator was never told"
                await asyncio.sleep(0.1)
            await client.delete(harness.url, grant)
            await client.close()
            await asyncio.sleep(0.3)  # the reader stops with its last viewer
        assert camera.urls == [MAIN, SUB, SUB]  # remembered: the second view did not try the main stream
