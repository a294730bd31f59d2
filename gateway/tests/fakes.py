"""In-memory stand-ins: a control plane, a camera, a WHEP client, grants."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import aiohttp
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from gateway.config import GatewayConfig
from gateway.control import ControlPlane
from gateway.grants import Grant, sign_grant
from gateway.rtsp import VIDEO_CLOCK_HZ, CameraUnreachable, MediaPacket
from gateway.server import create_app
from gateway.service import Gateway

GRANT_KEY = b"test-grant-key"
GATEWAY_TOKEN = "test-gateway-token"
CAMERA_URL = "rtsp://demo:secret-pass@camera.invalid/cam1"
ORIGIN = "http://127.0.0.1:8000"


def make_grant(
    gid: str | None = None,
    *,
    max_view_s: int = 30,
    issued_ago_s: float = 1.0,
    starts_in_s: float = 60.0,
    ends_in_s: float = 120.0,
    gateway: str = "gw-test",
    key: bytes = GRANT_KEY,
    **claims: Any,
) -> str:
    now = time.time()
    grant = Grant(
        gid=gid or uuid.uuid4().hex,
        gateway=gateway,
        tenant=1,
        operator=2,
        person=3,
        camera=4,
        check=5,
        purpose="check",
        issued_at=now - issued_ago_s,
        start_by=now + starts_in_s,
        hard_end=now + ends_in_s,
        max_view_s=max_view_s,
    )
    return sign_grant(replace(grant, **claims), key)


# -- control plane ------------------------------------------------------------------------


@dataclass
class FakeControlPlane:
    """The control plane's gateway API, recording every call."""

    rtsp_url: str = CAMERA_URL
    redeem_answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # gid → answer
    revoked: set[str] = field(default_factory=set)
    heartbeats: list[str | None] = field(default_factory=list)  # the gateway id of each revocation poll
    down: bool = False  # answer 503 to everything
    redeemed: list[str] = field(default_factory=list)
    redeem_bodies: list[dict[str, Any]] = field(default_factory=list)  # as the gateway sent them
    limits: dict[str, Any] = field(default_factory=dict)  # hard_end / max_view_s / blur to answer with
    events: list[dict[str, Any]] = field(default_factory=list)
    revocation_polls: int = 0
    url: str = ""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {GATEWAY_TOKEN}"

    async def _redeem(self, request: web.Request) -> web.Response:
        if self.down or not self._authorised(request):
            return web.json_response({"error": "down"}, status=503 if self.down else 401)
        body = await request.json()
        self.redeem_bodies.append(body)
        gid = body["gid"]
        if gid in self.redeem_answers:
            status, body = self.redeem_answers[gid]
            return web.json_response(body, status=status)
        if gid in self.redeemed:
            return web.json_response({"error": "already used"}, status=409)
        self.redeemed.append(gid)
        return web.json_response({"rtsp_url": self.rtsp_url, "rtsp_transport": "tcp", **self.limits})

    async def _revoked(self, request: web.Request) -> web.Response:
        if self.down or not self._authorised(request):
            return web.json_response({"error": "down"}, status=503 if self.down else 401)
        self.revocation_polls += 1
        body = await request.json()
        self.heartbeats.append(body.get("gateway"))
        gids = body["gids"]
        return web.json_response({"revoked": [gid for gid in gids if gid in self.revoked]})

    async def _event(self, request: web.Request) -> web.Response:
        if self.down or not self._authorised(request):
            return web.json_response({"error": "down"}, status=503 if self.down else 401)
        self.events.append(await request.json())
        self._changed.set()
        return web.json_response({})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/internal/gateway/redeem", self._redeem)
        app.router.add_post("/internal/gateway/revoked", self._revoked)
        app.router.add_post("/internal/gateway/events", self._event)
        return app

    def events_of(self, session: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if (session is None or e["session"] == session) and (event is None or e["event"] == event)
        ]

    async def wait_event(self, event: str, session: str | None = None, timeout_s: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while not (found := self.events_of(session, event)):
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event} event for {session} in {timeout_s} s; got {self.events}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return found[0]


@contextlib.asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


# -- camera -------------------------------------------------------------------------------


def _payload(nal_header: int, size: int, seed: int) -> bytes:
    # Bytes 1..255 only, so no start code (00 00 01) appears inside a NAL unit.
    body = bytes((seed * 7 + index) % 255 + 1 for index in range(size))
    return b"\x00\x00\x00\x01" + bytes([nal_header]) + body


SPS = b"\x00\x00\x00\x01\x67\x42\xc0\x1f\xda\x01\x40\x16\xec\x05\xa8"  # Constrained Baseline 3.1
PPS = b"\x00\x00\x00\x01\x68\xce\x3c\x80"


class FakeCamera:
    """A camera opener for CameraReader: paced synthetic H.264-shaped packets.

    The payloads are not decodable pictures, so a gateway that decoded them would
    fail; one that relays them hands the same bytes on.
    """

    def __init__(self, fps: float = 25.0, keyint_s: float = 1.0, frame_bytes: int = 1500) -> None:
        self.fps = fps
        self.keyint_s = keyint_s
        self.frame_bytes = frame_bytes
        self.opens = 0
        self.unreachable = False
        self.lose_after_s: float | None = None  # the stream breaks after this long
        self.sent: dict[int, bytes] = {}  # pts → data, to compare with what viewers got
        self._lock = threading.Lock()

    def __call__(self, url: str, transport: str) -> FakeCameraStream:
        with self._lock:
            self.opens += 1
        if self.unreachable:
            raise CameraUnreachable("Connection refused")
        return FakeCameraStream(self)


class FakeCameraStream:
    def __init__(self, camera: FakeCamera) -> None:
        self._camera = camera
        self._closed = threading.Event()

    def parameter_sets(self) -> bytes:
        return SPS + PPS

    def packets(self) -> Iterator[MediaPacket]:
        camera = self._camera
        interval = 1 / camera.fps
        frames_per_key = max(1, round(camera.fps * camera.keyint_s))
        # Like a real camera that is already running: the first packet a new
        # viewer gets is somewhere inside a group of pictures, not a keyframe.
        phase = frames_per_key // 2
        started = time.monotonic()
        for index in itertools.count():
            if self._closed.is_set():
                return
            due = started + index * interval
            time.sleep(max(0.0, due - time.monotonic()))
            if camera.lose_after_s is not None and time.monotonic() - started > camera.lose_after_s:
                raise CameraUnreachable("stream broke")
            keyframe = (index + phase) % frames_per_key == 0
            data = (
                SPS + PPS + _payload(0x65, camera.frame_bytes * 4, index)
                if keyframe
                else _payload(0x41, camera.frame_bytes, index)
            )
            pts = index * VIDEO_CLOCK_HZ // round(camera.fps)
            camera.sent[pts] = data
            yield MediaPacket(data=data, pts=pts, keyframe=keyframe, arrival=time.monotonic())

    def close(self) -> None:
        self._closed.set()


# -- gateway and browser ------------------------------------------------------------------


@dataclass
class Harness:
    gateway: Gateway
    url: str
    control: FakeControlPlane
    camera: FakeCamera


@contextlib.asynccontextmanager
async def running_gateway(
    camera: FakeCamera | None = None,
    control: FakeControlPlane | None = None,
    *,
    real_cameras: bool = False,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """Fake control plane + gateway (real HTTP, real aiortc) + a fake camera, or real RTSP."""
    control = control or FakeControlPlane()
    camera = camera or FakeCamera()
    async with serve_app(control.app()) as control_url:
        control.url = control_url
        config = GatewayConfig(
            gateway_id="gw-test",
            control_url=control_url,
            grant_key=GRANT_KEY,
            gateway_token=GATEWAY_TOKEN,
            **{"allowed_origins": (ORIGIN,), **settings},
        )
        gateway = Gateway(
            config,
            control=ControlPlane(control_url, GATEWAY_TOKEN, config.gateway_id, 2.0),
            opener=None if real_cameras else camera,
        )
        await gateway.start()
        try:
            async with serve_app(create_app(gateway)) as url:
                yield Harness(gateway, url, control, camera)
        finally:
            await gateway.close()


@dataclass
class Received:
    at: float  # time.monotonic()
    item: Any  # a decoded av.VideoFrame (or whatever the receiver's decoder returned)


class WhepClient:
    """A browser stand-in: aiortc as WHEP client, receive-only."""

    def __init__(self, *, audio: bool = False) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        if audio:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.addTransceiver("video", direction="recvonly")
        self.received: list[Received] = []
        self.kinds: list[str] = []
        self.track_ended = asyncio.Event()
        self._arrived = asyncio.Event()
        self._readers: list[asyncio.Task[None]] = []
        self.status = 0
        self.location: str | None = None
        self.answer = ""
        self.error: dict[str, Any] | None = None
        self.offered_at = 0.0

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            self.kinds.append(track.kind)
            self._readers.append(asyncio.create_task(self._read(track)))

    async def _read(self, track: Any) -> None:
        try:
            while True:
                item = await track.recv()
                self.received.append(Received(time.monotonic(), item))
                self._arrived.set()
        except MediaStreamError:
            self.track_ended.set()

    async def offer_sdp(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def connect(
        self, base_url: str, grant: str, *, origin: str | None = None, sdp: str | None = None, apply_answer: bool = True
    ) -> int:
        body = sdp if sdp is not None else await self.offer_sdp()
        headers = {"Authorization": f"Bearer {grant}", "Content-Type": "application/sdp"}
        if origin:
            headers["Origin"] = origin
        self.offered_at = time.monotonic()
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{base_url}/whep", data=body, headers=headers) as response,
        ):
            self.status = response.status
            self.location = response.headers.get("Location")
            if response.status == 201:
                self.answer = await response.text()
            else:
                self.error = await response.json()
        if self.status == 201 and apply_answer:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self.answer, type="answer"))
        return self.status

    @property
    def session_id(self) -> str:
        assert self.location is not None
        return self.location.rsplit("/", 1)[1]

    async def first(self, timeout_s: float = 10.0) -> Received:
        await asyncio.wait_for(self._arrived.wait(), timeout_s)
        return self.received[0]

    async def delete(self, base_url: str, grant: str) -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.delete(f"{base_url}{self.location}", headers={"Authorization": f"Bearer {grant}"}) as response,
        ):
            return response.status

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await self.pc.close()


# -- a camera with real pictures ----------------------------------------------------------


@functools.cache  # a few seconds of encoding, the same for every test
def encode_scene(
    width: int = 1280, height: int = 720, fps: int = 15, seconds: float = 2.0, noise: int = 0
) -> tuple[bytes, ...]:
    """A looping 720p H.264 scene (a keyframe at the start of each loop, as cameras
    send): a fine checkerboard (the detail a face has) and a bright block, "a body",
    that moves across it; ``noise``: sensor noise of that amplitude in every picture,
    which raises the bitrate to a real camera's. Annex B access units."""
    return tuple(_encode_scene(width, height, fps, seconds, noise))


def _encode_scene(width: int, height: int, fps: int, seconds: float, noise: int) -> list[bytes]:
    import av
    import numpy as np

    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = Fraction(1, fps)
    encoder.framerate = Fraction(fps, 1)
    count = round(fps * seconds)
    encoder.gop_size = count
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "high"}
    yy, xx = np.mgrid[0:height, 0:width]
    checker = (((yy // 4) + (xx // 4)) % 2 * 160 + 40).astype(np.uint8)
    units: list[bytes] = []
    rng = np.random.default_rng(7)
    for index in range(count):
        luma = checker.copy()
        if noise:
            luma = np.clip(luma + rng.integers(-noise, noise + 1, luma.shape), 0, 255).astype(np.uint8)
        left = (index * width // count) % (width - 200)
        luma[height // 3 : height // 3 + 200, left : left + 200] = 235
        rgb = np.repeat(luma[:, :, None], 3, axis=2)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        units.extend(bytes(packet) for packet in encoder.encode(frame))
    units.extend(bytes(packet) for packet in encoder.encode(None))
    return units


class H264Camera(FakeCamera):
    """A FakeCamera whose packets are real H.264 pictures (``encode_scene``), looped."""

    def __init__(
        self, fps: int = 15, seconds: float = 2.0, width: int = 1280, height: int = 720, noise: int = 0
    ) -> None:
        super().__init__(fps=fps, keyint_s=seconds)
        self.units = list(encode_scene(width, height, fps, seconds, noise))

    def __call__(self, url: str, transport: str) -> FakeCameraStream:
        with self._lock:
            self.opens += 1
        if self.unreachable:
            raise CameraUnreachable("Connection refused")
        return H264CameraStream(self)


class H264CameraStream(FakeCameraStream):
    def parameter_sets(self) -> bytes:
        return b""  # in-band, with each keyframe

    def packets(self) -> Iterator[MediaPacket]:
        camera = self._camera
        assert isinstance(camera, H264Camera)
        units = camera.units
        interval = 1 / camera.fps
        phase = len(units) // 2  # start inside a group of pictures, like a running camera
        started = time.monotonic()
        for index in itertools.count():
            if self._closed.is_set():
                return
            time.sleep(max(0.0, started + index * interval - time.monotonic()))
            data = units[(index + phase) % len(units)]
            pts = index * VIDEO_CLOCK_HZ // round(camera.fps)
            camera.sent[pts] = data
            yield MediaPacket(data=data, pts=pts, keyframe=(index + phase) % len(units) == 0, arrival=time.monotonic())


# The cut is a timer on the gateway's event loop, which the test's own in-process viewer
# shares; with the whole suite on two cores it has fired 0.46 s and once 0.78 s late, never
# early. The tests decide that a cut comes and which limit applies (1 s against 30 or 600 s): it is
# asserted not early and at most CUT_LATE_S late.
CUT_EARLY_S = 0.1
CUT_LATE_S = 1.5


def assert_cut_at(actual: float, expected: float) -> None:
    assert expected - CUT_EARLY_S <= actual <= expected + CUT_LATE_S, f"cut at {actual:.3f}, due at {expected:.3f}"
