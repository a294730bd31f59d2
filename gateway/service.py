"""The gateway's state: camera readers, prepared grants, live views.

Everything here runs on one event loop; only the camera readers and the probe use
threads. A view's life:

1. the browser's grant is verified (signature, time, gateway id);
2. the offer is checked (video, H.264 packetization-mode 1) before the grant is spent;
3. the control plane redeems the grant (single use, revocation, consent) and names
   the camera; only then is the camera pulled (or a prepared pull reused);
4. the answer is sent; media starts with the cached keyframe once DTLS is up;
5. the view is cut at ``min(first frame + max_view_s, hard_end)`` (the limits the
   control plane's redeem answered, the grant's own only as an upper bound), on
   revocation, on DELETE, when the browser goes away, when the camera is lost, or on
   shutdown; one ``ended`` event reports why and how many bytes were sent.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiortc import RTCPeerConnection

from gateway.blur import BlurringTrack
from gateway.config import GatewayConfig
from gateway.control import ControlPlane, ControlPlaneUnavailable, EventReporter, RedeemRefused
from gateway.grants import Grant, GrantError, ViewEnd, verify_grant
from gateway.metrics import GatewayMetrics
from gateway.probe import ProbeResult, probe_camera
from gateway.reader import CameraReader, ViewerFeed
from gateway.relay import (
    PACING_BUCKET_BYTES,
    OutputClock,
    Pacer,
    RelayTrack,
    answer_offer,
    close_peer_connection,
    new_peer_connection,
)
from gateway.rtsp import CameraOpener, CameraUnreachable, MediaPacket, pyav_opener
from gateway.sdp_offer import CodecRefused, OfferError, plan_offer
from gateway.turn import turn_credentials

log = logging.getLogger(__name__)
T = TypeVar("T")

END_STATUS: dict[str, int] = {
    ViewEnd.REVOKED: 403,
    ViewEnd.SHUTDOWN: 503,
    ViewEnd.CAMERA_LOST: 502,
}  # a view ended before its answer
# A camera whose link could not carry its main stream is pulled on its sub stream from the
# start for this long: the next check should not stall while the gateway finds out again.
WEAK_LINK_MEMORY_S = 600.0


class ViewRefused(Exception):
    """A request the gateway turns down; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code  # a stable word for clients, where the message alone is not enough


@dataclass(eq=False)
class Preparation:
    grant: Grant
    reader: CameraReader
    expiry: asyncio.TimerHandle


@dataclass(eq=False)
class ViewSession:
    sid: str
    grant: Grant
    token: str  # the browser must show the same grant to end the view
    pc: RTCPeerConnection
    reader: CameraReader
    feed: ViewerFeed
    track: RelayTrack
    started_at: float  # wall clock
    started_monotonic: float
    hard_end: float  # unix seconds: the stream is cut here whatever happens
    max_view_s: float  # from the first frame
    first_frame_at: float | None = None
    first_frame_cached: bool = False  # the viewer started at a keyframe read before it asked
    end_reason: str | None = None
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        *,
        control: ControlPlane | None = None,
        opener: CameraOpener | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._control = control or ControlPlane(
            config.control_url, config.gateway_token, config.gateway_id, config.control_timeout_s
        )
        self._events = EventReporter(self._control)
        self.metrics = GatewayMetrics(self.health)
        self._opener = opener or pyav_opener(config.camera_open_timeout_s, config.camera_read_timeout_s)
        self._wall_clock = wall_clock
        self._readers: dict[tuple[str, str], CameraReader] = {}
        self._holders: dict[CameraReader, set[str]] = {}
        self._retired_readers: set[CameraReader] = set()  # stopped, thread maybe still finishing
        self._preparations: dict[str, Preparation] = {}
        self._sessions: dict[str, ViewSession] = {}
        self._confirmed: dict[str, float] = {}  # gid → loop time the control plane last vouched for it
        self._tasks: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._probe_slots = asyncio.Semaphore(2)  # decoding is the one CPU-heavy thing here
        self._closing = False
        self._weak_links: dict[tuple[str, str], float] = {}  # (main url, transport) → monotonic expiry

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._poller = asyncio.create_task(self._poll_revocations(), name="revocation-poller")

    async def close(self) -> None:
        """End every view (reason ``shutdown``), stop every camera, send the last events."""
        self._closing = True
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        sessions = list(self._sessions.values())
        await asyncio.gather(*(self.end_session(session, ViewEnd.SHUTDOWN) for session in sessions))
        for gid in list(self._preparations):
            self._drop_preparation(gid)
        for reader in list(self._readers.values()):
            self._retire_reader(reader)
        retired = list(self._retired_readers)
        for reader, stopped in zip(
            retired, await asyncio.gather(*(r.join(timeout_s=2.0) for r in retired)), strict=True
        ):
            if not stopped:  # a daemon thread: it cannot keep the process alive
                log.warning("camera %s reader did not stop in time", reader.label)
        await self._events.flush(timeout_s=3.0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._control.close()

    def health(self) -> dict[str, Any]:
        """Counts for the control plane only: they tell an outsider when someone is being looked at."""
        return {
            "gateway": self.config.gateway_id,
            "sessions": len(self._sessions),
            "readers": len(self._readers),
            "events_pending": self._events.pending,
        }

    @property
    def up(self) -> bool:
        return not self._closing

    # -- grants -------------------------------------------------------------------------

    def verify(self, token: str) -> Grant:
        """The grant, or ViewRefused: 401 forged/malformed/other gateway, 403 out of time."""
        try:
            return verify_grant(token, self.config.grant_key, self._wall_clock(), self.config.gateway_id)
        except GrantError as exc:
            if self._fails_only_on_time(token):
                raise ViewRefused(403, str(exc), "grant_refused") from exc
            raise ViewRefused(401, str(exc), "grant_invalid") from exc

    def _fails_only_on_time(self, token: str) -> bool:
        """True for a genuine grant for this gateway that is merely expired or early.

        Checked by verifying it again at its own issue time, so this does not depend
        on the wording of grants.py's errors.
        """
        try:
            payload = token.split(".")[1]
            issued_at = float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["issued_at"])
            verify_grant(token, self.config.grant_key, issued_at, self.config.gateway_id)
        except (GrantError, ValueError, KeyError, TypeError, IndexError):
            return False
        return True

    # -- prepare ------------------------------------------------------------------------

    def prepare(self, token: str, rtsp_url: str, rtsp_transport: str) -> None:
        """Start pulling the camera for a grant about to be used; idempotent per gid."""
        if self._closing:
            raise ViewRefused(503, "shutting down")
        try:
            grant = self.verify(token)
        except ViewRefused as exc:
            raise ViewRefused(400, exc.message) from exc
        check_camera_address(rtsp_url, rtsp_transport)
        if grant.gid in self._preparations or any(s.grant.gid == grant.gid for s in self._sessions.values()):
            return
        reader = self._acquire_reader(rtsp_url, rtsp_transport, grant, f"prepare:{grant.gid}")
        # Held until the grant can no longer be used (or its view ends): a cached GOP of
        # a bedroom is kept no longer than it might serve the check it was made for.
        expiry = asyncio.get_running_loop().call_later(
            max(0.0, grant.start_by - self._wall_clock()), self._drop_preparation, grant.gid
        )
        self._preparations[grant.gid] = Preparation(grant, reader, expiry)
        self._confirm(grant.gid)
        log.info("grant %s prepared (camera %s)", grant.gid, grant.camera)

    def _drop_preparation(self, gid: str) -> None:
        preparation = self._preparations.pop(gid, None)
        if preparation is not None:
            preparation.expiry.cancel()
            self._release_reader(preparation.reader, f"prepare:{gid}")

    # -- views --------------------------------------------------------------------------

    async def open_view(self, token: str, offer_sdp: str, viewer_ip: str | None = None) -> tuple[str, str]:
        """Answer a WHEP offer: (session id, SDP answer), or ViewRefused.

        ``viewer_ip`` is where the offer came from; the control plane binds the grant to it.
        """
        if self._closing:
            raise ViewRefused(503, "shutting down")
        grant = self.verify(token)
        received_at = time.monotonic()
        try:
            plan = plan_offer(offer_sdp)  # before redeeming: a bad offer must not spend the grant
        except CodecRefused as exc:
            raise ViewRefused(406, str(exc), "codec_not_supported") from exc
        except OfferError as exc:
            raise ViewRefused(400, str(exc), "bad_offer") from exc
        try:
            camera = await self._control.redeem(grant.gid, viewer_ip)
        except RedeemRefused as exc:
            raise ViewRefused(exc.status, exc.reason, "grant_refused") from exc
        except ControlPlaneUnavailable as exc:
            log.warning("grant %s not redeemed: %s", grant.gid, exc)
            raise ViewRefused(503, "control plane unavailable") from exc
        self._confirm(grant.gid)
        if self._closing:
            raise ViewRefused(503, "shutting down")

        sid = secrets.token_urlsafe(16)
        hard_end = min(grant.hard_end, camera.hard_end if camera.hard_end is not None else grant.hard_end)
        reader = self._acquire_reader(
            camera.rtsp_url, camera.rtsp_transport, grant, f"view:{sid}", sub_url=camera.sub_rtsp_url
        )
        feed = ViewerFeed(self.config.viewer_queue_packets)
        session = ViewSession(
            sid=sid,
            grant=grant,
            token=token,
            pc=self._peer_connection(grant.gid, hard_end),
            reader=reader,
            feed=feed,
            track=(BlurringTrack if camera.blur else RelayTrack)(
                reader,
                feed,
                OutputClock(compress_burst=self.config.burst_retime == "compress"),
                on_first_packet=lambda packet: self._on_first_frame(session, packet),
            ),
            started_at=self._wall_clock(),
            started_monotonic=time.monotonic(),
            # The stored grant may have been shortened since it was signed (a window
            # moved, a tenant's view time lowered); the signed values remain a ceiling.
            hard_end=hard_end,
            max_view_s=min(grant.max_view_s, camera.max_view_s if camera.max_view_s is not None else grant.max_view_s),
        )
        self._sessions[sid] = session  # from here on revocation and shutdown can find it
        self._report(session, "started")
        log.info("session %s gid %s camera %s started (warm=%s)", sid, grant.gid, grant.camera, reader.warm)
        answer = ""
        redeemed_at = time.monotonic()
        try:
            await reader.wait_open(self.config.camera_open_timeout_s)
            camera_ready_at = time.monotonic()
            if session.end_reason is None:
                pacer = Pacer(self.config.pacing_kbit, PACING_BUCKET_BYTES) if self.config.pacing_kbit else None
                answer = await answer_offer(session.pc, session.track, plan, reader.profile, pacer)
        except CameraUnreachable as exc:
            await self.end_session(session, ViewEnd.CAMERA_LOST)
            raise ViewRefused(502, "camera unreachable") from exc
        except CodecRefused as exc:  # the camera's profile is not among the browser's
            await self.end_session(session, "")
            raise ViewRefused(406, str(exc), "codec_not_supported") from exc
        except OfferError as exc:
            await self.end_session(session, "")
            raise ViewRefused(400, str(exc), "bad_offer") from exc
        except Exception as exc:
            if session.end_reason is None:  # not a race with an ending view: a bug
                log.exception("session %s: negotiation failed", sid)
                await self.end_session(session, "")
                raise ViewRefused(500, "negotiation failed") from exc
        if session.end_reason is not None:  # revoked, lost or shut down while we negotiated
            raise ViewRefused(END_STATUS.get(session.end_reason, 503), f"view ended: {session.end_reason}")

        @session.pc.on("connectionstatechange")
        def _on_state() -> None:
            if session.pc.connectionState in ("failed", "closed"):
                self._spawn(self.end_session(session, ViewEnd.VIEWER_CLOSED))

        now = self._wall_clock()
        self._end_later(session, self.config.connect_timeout_s, ViewEnd.VIEWER_CLOSED)  # never connected
        self._end_later(session, session.hard_end - now, ViewEnd.GRANT_END)  # whatever happens
        log.info(
            "session %s answered in %.3f s (redeem %.3f, camera %.3f, negotiation %.3f)",
            sid,
            time.monotonic() - received_at,
            redeemed_at - received_at,
            camera_ready_at - redeemed_at,
            time.monotonic() - camera_ready_at,
        )
        return sid, answer

    def _peer_connection(self, gid: str, hard_end: float) -> RTCPeerConnection:
        """A peer connection using the installation's TURN, with credentials that end with the view."""
        if not self.config.turn_url or not self.config.turn_secret:
            return new_peer_connection()
        username, credential = turn_credentials(self.config.turn_secret, gid, hard_end)
        return new_peer_connection(self.config.turn_url, username, credential)

    def has_session(self, sid: str) -> bool:
        return sid in self._sessions

    def session_quality(self, sid: str) -> str | None:
        """``main`` or ``sub`` (the camera's lower-quality stream), None for no such session."""
        session = self._sessions.get(sid)
        return None if session is None else session.reader.quality

    async def close_view(self, sid: str, token: str) -> None:
        """WHEP DELETE: only the holder of the session's grant may end it.

        A session that has ended, for whatever reason, is gone: 404, as for one that
        never existed, so a late DELETE learns nothing about how the view ended.
        """
        session = self._sessions.get(sid)
        if session is None:
            raise ViewRefused(404, "no such session")
        if not secrets.compare_digest(session.token.encode(), token.encode()):
            raise ViewRefused(401, "not this session's grant")
        await self.end_session(session, ViewEnd.VIEWER_DELETED)

    def _on_first_frame(self, session: ViewSession, packet: MediaPacket) -> None:
        session.first_frame_at = self._wall_clock()
        session.first_frame_cached = packet.arrival < session.started_monotonic
        self.metrics.first_frame_seconds.observe(max(0.0, session.first_frame_at - session.started_at))
        for timer in session.timers:  # the connect timeout no longer applies
            timer.cancel()
        session.timers.clear()
        view_end = min(session.first_frame_at + session.max_view_s, session.hard_end)
        self._end_later(session, view_end - session.first_frame_at, ViewEnd.GRANT_END)
        self._report(session, "first_frame")
        log.info(
            "session %s first frame %.3f s after offer (keyframe=%s, cached=%s, %d bytes)",
            session.sid,
            time.monotonic() - session.started_monotonic,
            packet.keyframe,
            session.first_frame_cached,
            len(packet.data),
        )

    def _end_later(self, session: ViewSession, delay_s: float, reason: str) -> None:
        loop = asyncio.get_running_loop()
        session.timers.append(
            loop.call_later(max(0.0, delay_s), lambda: self._spawn(self.end_session(session, reason)))
        )

    async def end_session(self, session: ViewSession, reason: str) -> None:
        """End a view once, whatever the browser does, and report it."""
        if session.end_reason is not None:
            return
        session.end_reason = reason
        for timer in session.timers:
            timer.cancel()
        self._sessions.pop(session.sid, None)
        session.feed.close(reason)  # the sender stops at once; closing the PC follows
        session.reader.detach(session.feed)
        self._release_reader(session.reader, f"view:{session.sid}")
        self._drop_preparation(session.grant.gid)
        self._report(session, "ended", reason)
        began = session.first_frame_at or session.started_at
        log.info(
            "session %s gid %s ended: %s after %.1f s, %d bytes sent, %d dropped",
            session.sid,
            session.grant.gid,
            reason or "unspecified",
            self._wall_clock() - began,
            session.track.bytes_sent,
            session.feed.dropped,
        )
        try:
            await asyncio.wait_for(close_peer_connection(session.pc, fail_remote=reason != ViewEnd.VIEWER_DELETED), 5.0)
        except Exception as exc:  # a stuck transport must not keep the view alive in our books
            log.warning("session %s: closing the peer connection failed: %s", session.sid, type(exc).__name__)

    def show_clear(self, gid: str) -> bool:
        """Switch a blurred view of ``gid`` to the clear picture for the rest of the view
        (the control plane decided and audited it). False if there is no such view."""
        sessions = [s for s in self._sessions.values() if s.grant.gid == gid]
        for session in sessions:
            if isinstance(session.track, BlurringTrack):
                session.track.show_clear()
                log.info("session %s gid %s switched to the clear picture", session.sid, gid)
        return bool(sessions)

    def stop_grant(self, gid: str, reason: str) -> None:
        """Stop everything a grant opened: its live views and its prepared pull."""
        for session in [s for s in self._sessions.values() if s.grant.gid == gid]:
            self._spawn(self.end_session(session, reason))
        self._drop_preparation(gid)

    def _report(self, session: ViewSession, event: str, reason: str = "") -> None:
        self._events.report(
            {
                "gid": session.grant.gid,
                "session": session.sid,
                "event": event,
                "at": self._wall_clock(),
                "reason": reason,
                "bytes_sent": session.track.bytes_sent,
                # True only for a blurred view; a clear view is passed through, never decoded.
                "transcoded": isinstance(session.track, BlurringTrack),
            }
        )

    # -- revocation ---------------------------------------------------------------------

    def _confirm(self, gid: str) -> None:
        """The control plane vouched for this grant just now (prepare, redeem or a poll)."""
        self._confirmed[gid] = asyncio.get_running_loop().time()

    async def _poll_revocations(self) -> None:
        """Every poll interval: ask which live or prepared grants were revoked; stop those.

        Fails closed per grant: one the control plane has not vouched for within the
        grace period is stopped, since a revocation could be pending unseen. Per grant,
        because a view just redeemed was vouched for by that redeem.
        """
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.revoke_poll_s)
            gids = sorted({s.grant.gid for s in self._sessions.values()} | set(self._preparations))
            self._confirmed = {gid: self._confirmed.get(gid, loop.time()) for gid in gids}
            # Asked with no grant too: the poll is the heartbeat by which the control plane
            # sends new grants here rather than to a standby (docs/GATEWAY_PROTOCOL.md).
            if not gids and not self.config.heartbeat:
                continue
            asked_at = loop.time()
            try:
                revoked = await self._control.revoked(gids, self.config.control_timeout_s)
            except ControlPlaneUnavailable as exc:
                unvouched = [
                    gid
                    for gid in gids
                    if loop.time() - self._confirmed.get(gid, asked_at) >= self.config.revoke_grace_s
                ]
                if unvouched:
                    log.error("revocations unknown (%s): stopping %d grants", exc, len(unvouched))
                for gid in unvouched:
                    self.stop_grant(gid, "")
                continue
            for gid in gids:
                self._confirmed[gid] = max(self._confirmed.get(gid, asked_at), asked_at)
            for gid in sorted(revoked.intersection(gids)):
                log.info("grant %s revoked", gid)
                self.stop_grant(gid, ViewEnd.REVOKED)

    # -- camera readers -----------------------------------------------------------------

    def _acquire_reader(self, url: str, transport: str, grant: Grant, holder: str, sub_url: str = "") -> CameraReader:
        """The camera's one reader (started if needed), held on behalf of ``holder``."""
        reader = self._readers.get((url, transport))
        if reader is not None and sub_url and not reader.sub_url:
            reader.sub_url = sub_url  # prepared before the redeem named the sub stream
        if reader is None:
            weak_until = self._weak_links.get((url, transport), 0.0)
            reader = CameraReader(
                url=url,
                transport=transport,
                label=str(grant.camera),
                opener=self._opener,
                gop_cache_bytes=self.config.gop_cache_bytes,
                on_lost=self._on_camera_lost,
                sub_url=sub_url,
                start_on_sub=time.monotonic() < weak_until,
                on_switch=lambda switched: self._weak_links.__setitem__(
                    (url, transport), time.monotonic() + WEAK_LINK_MEMORY_S
                ),
            )
            self._readers[(url, transport)] = reader
            self._holders[reader] = set()
            reader.start()
        self._holders[reader].add(holder)
        return reader

    def _release_reader(self, reader: CameraReader, holder: str) -> None:
        holders = self._holders.get(reader)
        if holders is None:
            return
        holders.discard(holder)
        if not holders:  # nobody is watching or about to: stop pulling the bedroom camera
            self._retire_reader(reader)

    def _retire_reader(self, reader: CameraReader) -> None:
        self._holders.pop(reader, None)
        self._readers = {key: value for key, value in self._readers.items() if value is not reader}
        reader.stop()
        self._retired_readers.add(reader)
        self._spawn(self._forget_when_done(reader))

    async def _forget_when_done(self, reader: CameraReader) -> None:
        await reader.join(timeout_s=3 * self.config.camera_read_timeout_s)
        self._retired_readers.discard(reader)

    def _on_camera_lost(self, reader: CameraReader, reason: str) -> None:
        for session in [s for s in self._sessions.values() if s.reader is reader]:
            self._spawn(self.end_session(session, ViewEnd.CAMERA_LOST))
        for gid in [gid for gid, p in self._preparations.items() if p.reader is reader]:
            self._drop_preparation(gid)
        self._retire_reader(reader)

    # -- probe --------------------------------------------------------------------------

    async def probe(self, rtsp_url: str, rtsp_transport: str, seconds: float) -> ProbeResult:
        seconds = min(max(seconds, 0.5), self.config.probe_max_s)
        async with self._probe_slots:
            return await run_in_daemon_thread(
                lambda: probe_camera(
                    rtsp_url, rtsp_transport, seconds, open_timeout_s=self.config.camera_open_timeout_s
                )
            )

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def check_camera_address(rtsp_url: str, rtsp_transport: str) -> None:
    """Only a camera's RTSP address, over TCP or UDP: never a file, a device or another
    protocol FFmpeg would open as readily. ViewRefused (400) otherwise."""
    if not rtsp_url.startswith(("rtsp://", "rtsps://")):
        raise ViewRefused(400, "rtsp_url must be an rtsp:// or rtsps:// address")
    if rtsp_transport not in ("tcp", "udp"):
        raise ViewRefused(400, "rtsp_transport must be tcp or udp")


async def run_in_daemon_thread(function: Callable[[], T]) -> T:
    """Run blocking work in a daemon thread, so a slow camera cannot delay shutdown."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if result.done():  # the awaiting coroutine was cancelled
            return
        if error is not None:
            result.set_exception(error)
        else:
            result.set_result(value)  # type: ignore[arg-type]

    def work() -> None:
        try:
            value = function()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=work, name="probe", daemon=True).start()
    return await result
