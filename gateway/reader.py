"""One reader per camera, one bounded feed per viewer.

The camera is read in a daemon thread (PyAV blocks, and opening an RTSP session
inside a request handler would stall every other viewer for ~2 s). Packets are
handed to the event loop, which keeps the latest group of pictures (last keyframe
and what followed) and pushes every packet to the viewers' feeds.

Cameras send keyframes only every few seconds and never on request, so a viewer
that joins gets the cached group first: the browser can show a picture at once
instead of waiting up to a whole keyframe interval.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from gateway.grants import ViewEnd
from gateway.rtsp import (
    NAL_PPS,
    NAL_SPS,
    VIDEO_CLOCK_HZ,
    CameraOpener,
    CameraUnreachable,
    MediaPacket,
    nal_types,
    nal_units,
    sps_profile_idc,
)

log = logging.getLogger(__name__)

# The main stream arriving this much later than its own clock says (beyond the best it
# did so far) cannot be carried by the camera's link: a 4G uplink weaker than the
# stream's bitrate delays it more and more (and the camera then drops frames). A
# keyframe on a link that carries the stream on average costs well under this.
SWITCH_LAG_S = 1.0


class LagMeter:
    """How far a stream's arrival falls behind its own timestamps, beyond its best so far."""

    def __init__(self) -> None:
        self._best: float | None = None

    def lag(self, pts: int | None, arrival: float) -> float:
        if pts is None:
            return 0.0
        offset = arrival - pts / VIDEO_CLOCK_HZ
        if self._best is None or offset < self._best:
            self._best = offset
        return offset - self._best


class FeedClosed(Exception):
    """The viewer's feed ended; ``reason`` is one of the contract's end reasons."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ViewerFeed:
    """Bounded queue of packets for one viewer.

    H.264 cannot simply drop the oldest packet (every later picture refers back to
    it), so an overflowing feed is emptied and restarts at the next keyframe.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._packets: deque[MediaPacket] = deque()
        self._burst_left = 0  # packets at the head that came from the cache
        self._waiting_for_keyframe = True  # a decoder can only start at a keyframe
        self._wakeup = asyncio.Event()
        self._closed_reason: str | None = None
        self.dropped = 0

    @property
    def closed_reason(self) -> str | None:
        return self._closed_reason

    def load_burst(self, cached: list[MediaPacket]) -> None:
        """Queue the cached group of pictures (starting with its keyframe) first."""
        if not cached or not cached[0].keyframe or self._packets or len(cached) > self._capacity:
            return  # (a group longer than the feed would overflow it at once: start cold)
        self._packets.extend(cached)
        self._burst_left = len(cached)
        self._waiting_for_keyframe = False
        self._wakeup.set()

    def restart_at_keyframe(self) -> None:
        """The source changes (main → sub stream): the next packet the decoder can use is a keyframe."""
        self._waiting_for_keyframe = True

    @property
    def pending(self) -> int:
        """Packets queued and not yet taken."""
        return len(self._packets)

    def restart(self, cached: list[MediaPacket]) -> None:
        """Drop what is queued and start again at ``cached`` (a keyframe first) or, if
        that is empty, at the camera's next keyframe."""
        self._packets.clear()
        self._burst_left = 0
        self._waiting_for_keyframe = True
        self.load_burst(cached)

    def push(self, packet: MediaPacket) -> None:
        if self._closed_reason is not None:
            return
        if self._waiting_for_keyframe:
            if not packet.keyframe:
                return
            self._waiting_for_keyframe = False
        if len(self._packets) >= self._capacity:
            # A viewer this far behind is better served by a jump to the next keyframe.
            self.dropped += len(self._packets)
            self._packets.clear()
            self._burst_left = 0
            if not packet.keyframe:
                self._waiting_for_keyframe = True
                return
        self._packets.append(packet)
        self._wakeup.set()

    def close(self, reason: str) -> None:
        if self._closed_reason is None:
            self._closed_reason = reason
            self._packets.clear()
            self._wakeup.set()

    async def next(self) -> tuple[MediaPacket, bool]:
        """The next packet and whether it came from the cached burst."""
        while not self._packets:
            if self._closed_reason is not None:
                raise FeedClosed(self._closed_reason)
            self._wakeup.clear()
            await self._wakeup.wait()
        if self._closed_reason is not None:
            raise FeedClosed(self._closed_reason)
        from_burst = self._burst_left > 0
        if from_burst:
            self._burst_left -= 1
        return self._packets.popleft(), from_burst


class CameraReader:
    """Pulls one camera and fans its packets out to feeds; keeps the latest GOP."""

    def __init__(
        self,
        *,
        url: str,
        transport: str,
        label: str,
        opener: CameraOpener,
        gop_cache_bytes: int,
        on_lost: Callable[[CameraReader, str], None],
        sub_url: str = "",
        start_on_sub: bool = False,
        on_switch: Callable[[CameraReader], None] | None = None,
    ) -> None:
        self._url = url
        # The camera's low-bitrate stream, pulled instead of the main one when the link
        # cannot carry that (SWITCH_LAG_S), or from the start for a link known to be weak.
        self.sub_url = sub_url
        self.quality = "sub" if start_on_sub and sub_url else "main"
        self._on_switch = on_switch
        self._transport = transport
        self.label = label  # for logs; the URL holds credentials and is never logged
        self._opener = opener
        self._gop_cache_bytes = gop_cache_bytes
        self._on_lost = on_lost
        self._loop = asyncio.get_running_loop()
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self._stop_requested = threading.Event()
        self._thread = threading.Thread(target=self._read_camera, name=f"camera-{label}", daemon=True)
        self._feeds: set[ViewerFeed] = set()
        self._gop: list[MediaPacket] = []
        self._gop_bytes = 0
        self._parameter_sets = b""  # latest SPS+PPS, for keyframes that come without them
        self.profile: tuple[int, int] | None = None  # (profile_idc, constraint flags)
        self.packets_read = 0
        self.bytes_read = 0
        self.stopped = False

    def start(self) -> None:
        self._thread.start()

    async def wait_open(self, timeout_s: float) -> None:
        """Return once the camera answered; raise CameraUnreachable otherwise."""
        try:
            await asyncio.wait_for(asyncio.shield(self._opened), timeout_s)
        except TimeoutError as exc:
            raise CameraUnreachable("camera did not answer in time") from exc

    @property
    def warm(self) -> bool:
        """A joining viewer would start at once, at the cached keyframe."""
        return bool(self._gop)

    def attach(self, feed: ViewerFeed) -> None:
        """Start a viewer at the cached keyframe, then live.

        Runs on the loop with no await between copying the cache and subscribing,
        so no packet is lost or doubled between the two.
        """
        if self.stopped:
            feed.close(ViewEnd.CAMERA_LOST)
            return
        feed.load_burst(self._gop)
        self._feeds.add(feed)

    def restart_at_keyframe(self, feed: ViewerFeed) -> None:
        """Restart an attached viewer at the cached keyframe (on the loop: nothing lost between)."""
        if feed in self._feeds:
            feed.restart(self._gop)

    def detach(self, feed: ViewerFeed) -> None:
        self._feeds.discard(feed)

    def stop(self, reason: str = ViewEnd.SHUTDOWN) -> None:
        """Stop pulling (the thread notices at its next packet or read timeout)."""
        if self.stopped:
            return
        self.stopped = True
        self._stop_requested.set()
        self._gop.clear()
        if not self._opened.done():
            self._opened.set_exception(CameraUnreachable("reader stopped"))
            self._opened.exception()  # mark retrieved: nobody may be waiting
        for feed in list(self._feeds):
            feed.close(reason)
        self._feeds.clear()

    async def join(self, timeout_s: float) -> bool:
        """Wait (bounded) for the reader thread to end; True if it did."""
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return not self._thread.is_alive()

    # -- reader thread ---------------------------------------------------------------

    def _read_camera(self) -> None:
        on_sub = self.quality == "sub"
        while True:
            reason = "camera stream ended"
            switch = False
            try:
                stream = self._opener(self.sub_url if on_sub else self._url, self._transport)
            except CameraUnreachable as exc:
                self._post(self._handle_lost, str(exc))
                return
            except Exception as exc:  # an opener bug must not kill the gateway silently
                self._post(self._handle_lost, f"opener failed: {type(exc).__name__}")
                return
            meter = LagMeter()
            try:
                self._post(self._handle_opened, stream.parameter_sets())
                for packet in stream.packets():
                    if self._stop_requested.is_set():
                        return
                    self._post(self._handle_packet, packet)
                    if not on_sub and self.sub_url and meter.lag(packet.pts, packet.arrival) > SWITCH_LAG_S:
                        switch = True
                        break
            except CameraUnreachable as exc:
                reason = str(exc)
            except Exception as exc:
                reason = f"camera read failed: {type(exc).__name__}"
            finally:
                stream.close()
            if self._stop_requested.is_set():
                return
            if not switch:
                self._post(self._handle_lost, reason)
                return
            on_sub = True
            self._post(self._handle_switch)

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the gateway is gone, so are the viewers
            self._stop_requested.set()

    # -- on the event loop ----------------------------------------------------------

    def _handle_opened(self, parameter_sets: bytes) -> None:
        if parameter_sets:
            self._remember_parameter_sets(parameter_sets)
        if not self._opened.done():
            self._opened.set_result(None)
        log.info("camera %s open", self.label)

    def _handle_switch(self) -> None:
        """From the next packet on, the sub stream: every viewer restarts at its first keyframe."""
        if self.stopped:
            return
        self.quality = "sub"
        self._gop = []
        self._gop_bytes = 0
        self._parameter_sets = b""
        for feed in self._feeds:
            feed.restart_at_keyframe()
        log.warning("camera %s: the link cannot carry the main stream; switched to the sub stream", self.label)
        if self._on_switch is not None:
            self._on_switch(self)

    def _handle_lost(self, reason: str) -> None:
        if self.stopped:
            return
        log.warning("camera %s lost: %s", self.label, reason)
        if not self._opened.done():
            self._opened.set_exception(CameraUnreachable(reason))
            self._opened.exception()
        self.stop(ViewEnd.CAMERA_LOST)
        self._on_lost(self, reason)

    def _handle_packet(self, packet: MediaPacket) -> None:
        if self.stopped:
            return
        self.packets_read += 1
        self.bytes_read += len(packet.data)
        if packet.keyframe:
            packet = self._with_parameter_sets(packet)
            self._gop = [packet]
            self._gop_bytes = len(packet.data)
        elif self._gop:
            self._gop.append(packet)
            self._gop_bytes += len(packet.data)
            if self._gop_bytes > self._gop_cache_bytes:  # keyframes too rare to cache: serve cold
                self._gop = []
        for feed in self._feeds:
            feed.push(packet)

    def _with_parameter_sets(self, packet: MediaPacket) -> MediaPacket:
        """Prefix SPS/PPS to a keyframe that lacks them.

        Many cameras put the parameter sets only in the RTSP session description; a
        browser that starts at such a keyframe could not decode it.
        """
        if NAL_SPS in nal_types(packet.data):
            self._remember_parameter_sets(packet.data)
            return packet
        if not self._parameter_sets:
            return packet
        return MediaPacket(self._parameter_sets + packet.data, packet.pts, True, packet.arrival)

    def _remember_parameter_sets(self, data: bytes) -> None:
        units = [unit for unit in nal_units(data) if unit[0] & 0x1F in (NAL_SPS, NAL_PPS)]
        if units:
            self._parameter_sets = b"".join(b"\x00\x00\x00\x01" + unit for unit in units)
            self.profile = sps_profile_idc(self._parameter_sets) or self.profile
