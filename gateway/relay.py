"""WebRTC side of a view: pass the camera's H.264 through aiortc, never decode it.

aiortc's sender packetises ``av.Packet`` objects as they are (``H264Encoder.pack``)
and only encodes ``av.VideoFrame`` objects, so a track that returns packets is a
relay without transcoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from fractions import Fraction

import av
from aiortc import (
    RTCConfiguration,
    RTCDtlsTransport,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.codecs import CODECS
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.sdp import parse_h264_profile_level_id
from OpenSSL import SSL

from gateway.reader import CameraReader, FeedClosed, ViewerFeed
from gateway.rtsp import VIDEO_CLOCK_HZ, MediaPacket
from gateway.sdp_offer import CodecRefused, OfferError, OfferPlan, complete_answer

log = logging.getLogger(__name__)

VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK_HZ)
PACING_BUCKET_BYTES = 24 * 1024  # ~20 packets at once: well inside coturn's 32 KB
BURST_STEP_TICKS = VIDEO_CLOCK_HZ // 1000  # cached pictures are sent 1 ms apart
MAX_PLAUSIBLE_GAP_TICKS = 2 * VIDEO_CLOCK_HZ  # beyond this a camera timestamp is not trusted

# aiortc only registers Baseline H.264; cameras also send Main and High, and the
# answer must name the profile actually sent (Chrome may not show it otherwise).
PROFILE_LEVEL_IDS = {
    "constrained_baseline": "42e01f",
    "baseline": "42001f",
    "main": "4d001f",
    "high": "64001f",
    "constrained_high": "640c1f",
}


def register_h264_profiles() -> None:
    """Teach aiortc the Main and High profiles (idempotent)."""
    video = CODECS["video"]
    known = {codec.parameters.get("profile-level-id") for codec in video if codec.mimeType == "video/H264"}
    payload_type = max(codec.payloadType or 0 for codec in video) + 1
    for profile_level_id in [PROFILE_LEVEL_IDS[name] for name in ("main", "high", "constrained_high")]:
        if profile_level_id in known:
            continue
        video.append(
            RTCRtpCodecParameters(
                mimeType="video/H264",
                clockRate=VIDEO_CLOCK_HZ,
                payloadType=payload_type,
                rtcpFeedback=[
                    RTCRtcpFeedback(type="nack"),
                    RTCRtcpFeedback(type="nack", parameter="pli"),
                    RTCRtcpFeedback(type="goog-remb"),
                ],
                parameters={
                    "level-asymmetry-allowed": "1",
                    "packetization-mode": "1",
                    "profile-level-id": profile_level_id,
                },
            )
        )
        video.append(
            RTCRtpCodecParameters(
                mimeType="video/rtx",
                clockRate=VIDEO_CLOCK_HZ,
                payloadType=payload_type + 1,
                parameters={"apt": payload_type},
            )
        )
        payload_type += 2


def profiles_for_camera(profile: tuple[int, int] | None) -> list[str]:
    """profile-level-ids to negotiate, best first, for a camera's SPS profile."""
    order = ["constrained_baseline", "baseline", "main", "high", "constrained_high"]
    if profile is not None:
        profile_idc, constraints = profile
        if profile_idc == 66:  # Baseline; constraint_set1 makes it Constrained Baseline
            order = ["constrained_baseline", "baseline"] if constraints & 0x40 else ["baseline", "constrained_baseline"]
        elif profile_idc == 77 or (profile_idc == 88 and constraints & 0x40):
            order = ["main"]
        elif profile_idc == 100:
            # Browsers decode High whatever its constraint flags; Safari offers only 640c.
            order = ["high", "constrained_high"]
        else:
            order = []  # High 10, 4:2:2 …: browsers do not decode these
    return [PROFILE_LEVEL_IDS[name] for name in order]


def _profile(profile_level_id: str) -> object | None:
    try:
        return parse_h264_profile_level_id(profile_level_id)[0]
    except ValueError:
        return None


def codec_preferences(camera_profile: tuple[int, int] | None, offered: list[str]) -> list[RTCRtpCodecCapability]:
    """aiortc capabilities for the camera's profile that the browser offered too.

    Profiles are compared the way aiortc matches codecs (profile, not level).
    """
    offered_profiles = {_profile(profile_level_id) for profile_level_id in offered} - {None}
    capabilities = RTCRtpSender.getCapabilities("video").codecs
    chosen = [
        codec
        for profile_level_id in profiles_for_camera(camera_profile)
        if _profile(profile_level_id) in offered_profiles
        for codec in capabilities
        if codec.mimeType == "video/H264" and codec.parameters.get("profile-level-id") == profile_level_id
    ]
    if not chosen:
        raise CodecRefused("no acceptable video codec: the browser does not offer the camera's H.264 profile")
    # Retransmissions (RTX) repair losses the browser reports; there is no encoder to ask.
    return chosen + [codec for codec in capabilities if codec.mimeType == "video/rtx"]


class OutputClock:
    """Maps the camera's timestamps of one viewer onto the RTP timeline it is sent on.

    The cached group of pictures is sent at once when a viewer joins. With the
    camera's own spacing the browser would play that burst back at normal speed and
    stay up to a keyframe interval behind live for the whole view; compressed to
    1 ms steps it decodes through the burst and shows live pictures right away.
    """

    def __init__(self, compress_burst: bool) -> None:
        self._compress_burst = compress_burst
        self._last: MediaPacket | None = None
        self._last_out = 0

    def place(self, packet: MediaPacket, from_burst: bool) -> int:
        """Output timestamp in 90 kHz ticks (aiortc adds its random origin)."""
        previous, self._last = self._last, packet
        if previous is None:
            return self._last_out
        step = None if packet.pts is None or previous.pts is None else packet.pts - previous.pts
        if step is None or not 0 <= step <= MAX_PLAUSIBLE_GAP_TICKS:
            # Missing or jumping camera clock (restart, wrap): trust our arrival times.
            step = max(0, round((packet.arrival - previous.arrival) * VIDEO_CLOCK_HZ))
        if from_burst and self._compress_burst:
            step = min(step, BURST_STEP_TICKS)
        self._last_out += step
        return self._last_out


class Pacer:
    """A token bucket: ``rate_kbit`` on average, bursts of at most ``bucket_bytes``.

    aiortc has no pacer: it sends every RTP packet of a picture back to back, and the
    cached group of pictures a joining viewer gets (a keyframe and up to a keyframe
    interval of pictures, ~0.5 MB at 720p) leaves within some 60 ms, bursts of 40-50
    packets in 2-3 ms. Direct to a browser that is harmless; through a TURN server over
    TCP it is not: coturn reads at most 16 datagrams per wakeup from its relay socket,
    writes at most 16 KB per loop to the TCP client, keeps at most 32 KB queued
    towards it and drops the rest (and its relay socket has a fixed 64 KB receive
    buffer). Lost packets of the keyframe that NACK cannot repair (aiortc keeps 128
    packets to retransmit) cost a PLI and a wait for the camera's next keyframe.
    """

    def __init__(self, rate_kbit: int, bucket_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate_kbit * 1000 / 8  # bytes per second
        self._bucket = float(bucket_bytes)
        self._tokens = float(bucket_bytes)
        self._clock = clock
        self._at = clock()

    def delay(self, size: int) -> float:
        """Seconds to wait before sending ``size`` bytes (a packet larger than the bucket
        leaves at once when the bucket is full, and the wait falls on what follows)."""
        now = self._clock()
        self._tokens = min(self._bucket, self._tokens + (now - self._at) * self._rate)
        self._at = now
        wait = 0.0 if self._tokens >= 0 else -self._tokens / self._rate
        self._tokens -= size
        return wait


def pace_sender(sender: RTCRtpSender, pacer: Pacer) -> None:
    """Send ``sender``'s RTP packets (retransmissions too) through ``pacer``.

    aiortc's send loop awaits ``RTCDtlsTransport._send_rtp`` for each packet, so a wait
    there paces it; private, like ``_refuse_to_continue`` below (aiortc is pinned).
    """
    transport = sender.transport
    send = transport._send_rtp

    async def paced(data: bytes) -> None:
        wait = pacer.delay(len(data))
        if wait > 0:
            await asyncio.sleep(wait)
        await send(data)

    transport._send_rtp = paced  # type: ignore[method-assign]


class RelayTrack(MediaStreamTrack):
    """A video track that hands the camera's packets to aiortc's sender."""

    kind = "video"

    def __init__(
        self,
        reader: CameraReader,
        feed: ViewerFeed,
        clock: OutputClock,
        on_first_packet: Callable[[MediaPacket], None],
    ) -> None:
        super().__init__()
        self._reader = reader
        self._feed = feed
        self._clock = clock
        self._on_first_packet = on_first_packet
        self._attached = False
        self.packets_sent = 0
        self.bytes_sent = 0

    async def recv(self) -> av.Packet:  # aiortc sends packets as they are, frames it encodes
        if not self._attached:
            # Join the camera only when the sender starts (DTLS is up): the cached
            # keyframe is then as fresh as it can be and nothing queues meanwhile.
            self._attached = True
            self._reader.attach(self._feed)
        try:
            packet, from_burst = await self._feed.next()
        except FeedClosed as exc:
            self.stop()
            raise MediaStreamError(exc.reason) from exc
        return self._relay(packet, from_burst)

    def _relay(self, packet: MediaPacket, from_burst: bool) -> av.Packet:
        out = av.Packet(packet.data)
        out.pts = self._clock.place(packet, from_burst)
        out.time_base = VIDEO_TIME_BASE
        self.packets_sent += 1
        self.bytes_sent += len(packet.data)
        if self.packets_sent == 1:
            self._on_first_packet(packet)
        return out

    def stop(self) -> None:
        self._reader.detach(self._feed)
        super().stop()


async def answer_offer(
    pc: RTCPeerConnection,
    track: RelayTrack,
    plan: OfferPlan,
    camera_profile: tuple[int, int] | None,
    pacer: Pacer | None = None,
) -> str:
    """Negotiate H.264 pass-through and return the complete SDP answer (non-trickle).

    The track and the codec choice must be in place before the offer is applied:
    aiortc settles the codec in setRemoteDescription.
    """
    transceiver = pc.addTransceiver(track, direction="sendonly")
    if pacer is not None:
        pace_sender(transceiver.sender, pacer)
    transceiver.setCodecPreferences(codec_preferences(camera_profile, plan.h264_profiles))
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=plan.video_offer, type="offer"))
    except ValueError as exc:  # aiortc's SDP parser rejects what it cannot read
        raise OfferError(f"bad SDP offer: {exc}") from exc
    await pc.setLocalDescription(await pc.createAnswer())  # gathers every candidate first
    return complete_answer(pc.localDescription.sdp, plan)


async def close_peer_connection(pc: RTCPeerConnection, *, fail_remote: bool = True, settle_s: float = 0.3) -> None:
    """End a view so that the browser's RTCPeerConnection notices at once, then free it.

    A DTLS close_notify (all that ``pc.close()`` sends besides an RTCP BYE) sets only
    the browser's RTCDtlsTransport to "closed", and by the W3C rules (webrtc-pc,
    RTCPeerConnectionState) connectionState stays "connected" until ICE consent
    freshness runs out: 7 s in Chromium, measured. No WHEP player watches the DTLS
    transport, so:

    1. every sender stops: aiortc sends an RTCP BYE for its track;
    2. DTLS renegotiation starts. WebRTC endpoints never renegotiate DTLS, and
       BoringSSL (Chrome, Edge, Safari) answers a handshake message after the
       handshake with a fatal alert: the browser's DTLS transport and with it the
       RTCPeerConnection go to "failed" as soon as the message arrives (2 ms on
       loopback, measured in Chromium). An endpoint that refuses more politely
       (a no_renegotiation warning) gets OpenSSL's fatal alert back;
    3. a short wait lets that exchange happen before the transports go;
    4. ``pc.close()`` closes DTLS and ICE. OpenSSL sends no close_notify in the middle
       of a handshake, so where step 2 did not apply (never connected), step 4 is the
       plain close_notify. There is no SCTP association: data sections are declined.

    Without ``fail_remote`` (the viewer ended the view itself with DELETE) step 2 is
    left out: its player is closing anyway, and a failed connection would make some
    players (Eyevinn's) reconnect once.
    """
    transports = {transceiver.sender.transport for transceiver in pc.getTransceivers()}
    for transceiver in pc.getTransceivers():
        await transceiver.sender.stop()
    poked = False
    for transport in transports if fail_remote else ():
        if transport.state == "connected":
            poked = await _refuse_to_continue(transport) or poked
    if poked:
        await asyncio.sleep(settle_s)
    await pc.close()


async def _refuse_to_continue(transport: RTCDtlsTransport) -> bool:
    """Start a DTLS renegotiation on ``transport`` (see close_peer_connection).

    aiortc has no API for this: its OpenSSL connection (``_ssl``) and the flush
    (``_write_ssl``) are private, so any surprise there (aiortc is pinned) only
    costs the browser the slow way of noticing.
    """
    try:
        connection = transport._ssl
        if connection is None:
            return False
        connection.renegotiate()
        with contextlib.suppress(SSL.WantReadError):
            connection.do_handshake()
        await transport._write_ssl()
    except (AttributeError, SSL.Error, ConnectionError) as exc:
        log.info("could not fail the viewer's DTLS at once: %s", type(exc).__name__)
        return False
    return True


def new_peer_connection(turn_url: str = "", username: str = "", credential: str = "") -> RTCPeerConnection:
    # Never a public STUN server (aiortc's default): it would leak that a view is
    # happening and cost a round trip. Only the installation's own TURN, when configured,
    # so that a viewer whose network allows no UDP (or only TCP to the TURN server) is
    # still reached; the relayed candidates are gathered while the answer is made.
    servers = [RTCIceServer(urls=turn_url, username=username, credential=credential)] if turn_url else []
    return RTCPeerConnection(RTCConfiguration(iceServers=servers))


register_h264_profiles()
