"""What a viewer receives: the camera's own H.264, keyframe first, no audio."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from gateway.reader import FeedClosed, ViewerFeed
from gateway.relay import BURST_STEP_TICKS, OutputClock, Pacer, pace_sender
from gateway.rtsp import NAL_IDR, NAL_SPS, MediaPacket, nal_types
from gateway.tests.fakes import CAMERA_URL, GATEWAY_TOKEN, FakeCamera, Harness, WhepClient, make_grant, running_gateway


async def prepare(harness: Harness, grant: str) -> int:
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{harness.url}/internal/prepare",
            json={"grant": grant, "rtsp_url": CAMERA_URL, "rtsp_transport": "tcp"},
            headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"},
        )
        return response.status


async def wait_for_cached_keyframe(harness: Harness, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(reader.warm for reader in harness.gateway._readers.values()):
        assert time.monotonic() < deadline, "the prepared reader never cached a keyframe"
        await asyncio.sleep(0.05)


def is_keyframe(data: bytes) -> bool:
    types = nal_types(data)
    return NAL_IDR in types and NAL_SPS in types


@pytest.mark.usefixtures("undecoded_receiver")
async def test_prepare_then_join_gets_the_cached_keyframe_first_and_at_once() -> None:
    # Keyframes every 4 s: without the cache a viewer would wait up to 4 s.
    async with running_gateway(FakeCamera(fps=25, keyint_s=4.0)) as harness:
        grant = make_grant("g-warm")
        assert await prepare(harness, grant) == 202
        await wait_for_cached_keyframe(harness, timeout_s=6)
        await asyncio.sleep(0.5)  # the cache now holds a keyframe and the pictures after it
        client = WhepClient()
        assert await client.connect(harness.url, grant) == 201
        # How fast is a benchmark's question (benchmarks/live_view.py); on a busy machine the
        # handshake alone can take seconds. Here: the first picture is the cached keyframe.
        first = await client.first(timeout_s=10)
        assert is_keyframe(first.item.data)
        (session,) = harness.gateway._sessions.values()
        assert session.first_frame_cached  # read before the viewer asked: from the cache
        assert harness.camera.opens == 1  # the prepared pull, not a second RTSP session
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_a_cold_viewer_waits_for_the_next_keyframe_and_starts_there() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=1.0)) as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 201
        first = await client.first(timeout_s=5)
        assert is_keyframe(first.item.data)
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_the_relay_passes_h264_through_without_decoding_or_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiortc.codecs.h264

    def no_encoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the gateway encoded video")

    monkeypatch.setattr(aiortc.codecs.h264.H264Encoder, "encode", no_encoding)
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        grant = make_grant()
        assert await prepare(harness, grant) == 202
        await wait_for_cached_keyframe(harness)
        client = WhepClient()
        assert await client.connect(harness.url, grant) == 201
        await client.first()
        await asyncio.sleep(1.5)
        await client.close()
    sent = [harness.camera.sent[pts] for pts in sorted(harness.camera.sent)]
    received = [r.item.data for r in client.received]
    assert len(received) > 20
    start = sent.index(received[0])
    # The very bytes the camera sent, in order, none missing: nothing was decoded,
    # re-encoded or re-ordered on the way (the payloads are not even real pictures).
    assert received == sent[start : start + len(received)]


@pytest.mark.usefixtures("undecoded_receiver")
async def test_the_answer_has_no_audio() -> None:
    async with running_gateway() as harness:
        # A generic WHEP player asks for audio and video. (aiortc as a client cannot
        # use an answer with a rejected section, browsers can: only the SDP is checked.)
        greedy = WhepClient(audio=True)
        assert await greedy.connect(harness.url, make_grant(), apply_answer=False) == 201
        sections = greedy.answer.split("\r\nm=")[1:]
        assert [section.split(" ", 1)[0] for section in sections] == ["audio", "video"]  # mirrors the offer…
        audio, video = sections
        assert audio.startswith("audio 0 ")  # …but the audio section is rejected (port 0)
        assert "a=inactive" in audio and "a=ssrc" not in audio and "a=msid" not in audio
        assert "a=sendonly" in video and "H264/90000" in video and "packetization-mode=1" in video
        assert "a=group:BUNDLE 1\r\n" in greedy.answer  # the audio mid is not bundled
        (session,) = harness.gateway._sessions.values()
        assert [t.kind for t in session.pc.getTransceivers()] == ["video"]  # nothing could carry audio
        await greedy.close()

        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 201
        assert client.answer.count("\r\nm=") == 1 and "m=audio" not in client.answer
        await client.first()
        assert client.kinds == ["video"]
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_viewers_of_one_camera_share_one_pull_and_each_starts_at_a_keyframe() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=1.0)) as harness:
        clients = [WhepClient() for _ in range(3)]
        for client in clients:
            assert await client.connect(harness.url, make_grant()) == 201
        for client in clients:
            assert is_keyframe((await client.first(timeout_s=5)).item.data)
        assert harness.camera.opens == 1
        assert harness.gateway.health() == {"gateway": "gw-test", "sessions": 3, "readers": 1, "events_pending": 0}
        for client in clients:
            await client.close()


# -- units --------------------------------------------------------------------------------


def packet(pts: int | None, keyframe: bool = False, arrival: float = 0.0) -> MediaPacket:
    return MediaPacket(b"\x00\x00\x00\x01\x41x", pts, keyframe, arrival)


async def test_a_feed_starts_with_a_cached_burst_then_live() -> None:
    feed = ViewerFeed(capacity=10)
    feed.load_burst([packet(0, True), packet(3000)])
    feed.push(packet(6000))
    assert [(p.pts, burst) for p, burst in [await feed.next() for _ in range(3)]] == [
        (0, True),
        (3000, True),
        (6000, False),
    ]


async def test_a_cold_feed_skips_to_the_first_keyframe() -> None:
    feed = ViewerFeed(capacity=10)
    feed.push(packet(0))
    feed.push(packet(3000, True))
    assert (await feed.next())[0].pts == 3000


async def test_an_overflowing_feed_restarts_at_the_next_keyframe() -> None:
    feed = ViewerFeed(capacity=3)
    for pts, key in [(0, True), (1, False), (2, False), (3, False), (4, False), (5, True), (6, False)]:
        feed.push(packet(pts, key))
    assert [(await feed.next())[0].pts for _ in range(2)] == [5, 6]
    assert feed.dropped == 3


async def test_a_closed_feed_wakes_its_reader_with_the_reason() -> None:
    feed = ViewerFeed(capacity=3)
    waiting = asyncio.create_task(feed.next())
    await asyncio.sleep(0)
    feed.close("revoked")
    with pytest.raises(FeedClosed) as closed:
        await waiting
    assert closed.value.reason == "revoked"


def test_the_burst_is_compressed_and_live_keeps_the_camera_spacing() -> None:
    clock = OutputClock(compress_burst=True)
    placed = [
        clock.place(packet(pts), burst) for pts, burst in [(0, True), (6000, True), (12000, True), (18000, False)]
    ]
    assert placed == [0, BURST_STEP_TICKS, 2 * BURST_STEP_TICKS, 2 * BURST_STEP_TICKS + 6000]


def test_original_timing_keeps_the_camera_spacing_of_the_burst() -> None:
    clock = OutputClock(compress_burst=False)
    assert [clock.place(packet(pts), True) for pts in (100, 6100, 12100)] == [0, 6000, 12000]


def test_missing_or_jumping_camera_timestamps_fall_back_to_arrival_times() -> None:
    clock = OutputClock(compress_burst=True)
    clock.place(packet(None, arrival=10.0), False)
    assert clock.place(packet(5_000_000, arrival=10.1), False) == 9000  # 0.1 s at 90 kHz
    assert clock.place(packet(1000, arrival=10.2), False) == 18000  # camera clock went back


def test_the_pacer_lets_a_bucket_through_at_once_and_the_rest_at_its_rate() -> None:
    now = [100.0]
    pacer = Pacer(8_000, 24_000, clock=lambda: now[0])  # 1 MB/s
    waits = [pacer.delay(1_200) for _ in range(20)]  # 24 kB: the bucket
    assert waits == [0.0] * 20
    assert pacer.delay(1_200) == pytest.approx(0.0)  # the bucket is empty, not in debt yet
    assert pacer.delay(1_200) == pytest.approx(0.0012)  # one packet's worth of debt
    now[0] += 10.0  # a long pause refills the bucket, never beyond it
    assert [pacer.delay(1_200) for _ in range(21)][-1] == pytest.approx(0.0)
    assert pacer.delay(1_200) == pytest.approx(0.0012)


def test_a_picture_larger_than_the_bucket_leaves_and_what_follows_waits() -> None:
    now = [0.0]
    pacer = Pacer(8_000, 24_000, clock=lambda: now[0])
    assert pacer.delay(100_000) == 0.0  # one packet larger than the bucket (never in RTP)
    assert pacer.delay(1_000) == pytest.approx(0.076)


async def test_a_paced_sender_spreads_the_cached_burst() -> None:
    """60 packets handed over at once: 20 leave at once, the other 40 (48 kB) at 1 MB/s."""
    sent: list[float] = []

    class Transport:
        async def _send_rtp(self, data: bytes) -> None:
            sent.append(time.monotonic())

    class Sender:
        transport = Transport()

    sender = Sender()
    pace_sender(sender, Pacer(8_000, 24_000))  # type: ignore[arg-type]
    started = time.monotonic()
    for _ in range(60):
        await sender.transport._send_rtp(bytes(1_200))
    assert sent[19] - started < 0.01
    assert sent[-1] - started >= 0.046  # 40 × 1.2 kB at 1 MB/s = 48 ms (timer rounding aside)
    # never more than the bucket plus the rate's worth in any 5 ms
    for index, at in enumerate(sent):
        in_window = sum(1 for other in sent[index:] if other - at <= 0.005)
        assert in_window * 1_200 <= 24_000 + 1_200 + 5_000 + 1_200
