"""A blurred view, for persons who chose it: decode, shrink, encode; clear only when switched.

The camera's picture is decoded (every packet: H.264 pictures refer back to earlier
ones), shrunk to ``SMALL_SIZE`` (a face over a bed becomes a few pixels, a body in or
beside the bed stays a shape), scaled back up smoothly to ``SENT_SIZE`` and encoded
with libx264 at ``BLUR_FPS``. The small picture is the blur, and it is what makes this
cheap: the encoder only ever sees 320x180. The browser scales it up.

The clear stream never leaves the gateway while the view is blurred. When the operator
switches to the clear picture (the control plane's /internal/unblur, audited there),
the track restarts the viewer's feed at the cached keyframe and from then on passes the
camera's packets through like ``RelayTrack``.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import av
from aiortc.mediastreams import MediaStreamError

from gateway.reader import FeedClosed
from gateway.relay import VIDEO_TIME_BASE, RelayTrack
from gateway.rtsp import VIDEO_CLOCK_HZ, MediaPacket

SMALL_SIZE = (64, 36)  # what is left of the picture: ~20 camera pixels per pixel at 720p
SENT_SIZE = (320, 180)  # scaled back up smoothly, so the browser shows a soft picture, not blocks
BLUR_FPS = 10
KEYFRAME_INTERVAL = 2 * BLUR_FPS  # a browser that lost a packet recovers within 2 s
FRAME_STEP_TICKS = VIDEO_CLOCK_HZ // BLUR_FPS

# Decoding and encoding run here, off the event loop (PyAV releases the GIL in the
# codec calls); one thread per core, shared by every blurred view.
_POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="blur")


class PictureBlurrer:
    """One view's decoder and encoder. Not thread-safe: one call at a time."""

    def __init__(self) -> None:
        self._decoder = av.CodecContext.create("h264", "r")
        self._decoder.thread_count = 1  # frame threads would add a frame of delay each
        self._encoder = av.CodecContext.create("libx264", "w")
        self._encoder.width, self._encoder.height = SENT_SIZE
        self._encoder.pix_fmt = "yuv420p"
        self._encoder.time_base = Fraction(1, BLUR_FPS)
        self._encoder.framerate = Fraction(BLUR_FPS, 1)
        self._encoder.gop_size = KEYFRAME_INTERVAL
        self._encoder.thread_count = 1
        # zerolatency: no lookahead, no B-frames, so each picture comes out as it goes in;
        # the first one is a keyframe with its parameter sets, so the browser starts at once.
        self._encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline"}
        self._frames_encoded = 0

    def blur(self, data: bytes, encode: bool) -> bytes | None:
        """Decode ``data``; if ``encode``, the blurred picture as Annex B H.264 (or None)."""
        try:
            frames = self._decoder.decode(av.Packet(data))
        except av.FFmpegError:  # a damaged packet: the next keyframe repairs the picture
            return None
        if not encode or not frames:
            return None
        small = frames[-1].reformat(width=SMALL_SIZE[0], height=SMALL_SIZE[1], format="yuv420p", interpolation="AREA")
        picture = small.reformat(width=SENT_SIZE[0], height=SENT_SIZE[1], interpolation="BICUBIC")
        picture.pts = self._frames_encoded
        picture.time_base = self._encoder.time_base
        self._frames_encoded += 1
        encoded = b"".join(bytes(packet) for packet in self._encoder.encode(picture))
        return encoded or None


class BlurringTrack(RelayTrack):
    """Sends the blurred picture until ``show_clear`` is called, then the camera's own."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._blurrer: PictureBlurrer | None = PictureBlurrer()
        self._last_encoded_pts: int | None = None
        self.clear = False  # switched to the camera's own picture
        self.blurred_frames = 0

    def show_clear(self) -> None:
        """From the next packet on, the clear picture, starting at the camera's cached keyframe."""
        if self.clear:
            return
        self.clear = True
        self._blurrer = None  # frees the codecs; a view is never blurred again once clear
        self._reader.restart_at_keyframe(self._feed)

    async def recv(self) -> av.Packet:
        if self.clear:
            return await super().recv()
        if not self._attached:
            self._attached = True
            self._reader.attach(self._feed)
        loop = asyncio.get_running_loop()
        while True:
            try:
                packet, from_burst = await self._feed.next()
            except FeedClosed as exc:
                self.stop()
                raise MediaStreamError(exc.reason) from exc
            if self.clear:  # switched while we waited: the feed restarted at the keyframe
                return self._relay(packet, from_burst)
            blurrer = self._blurrer
            assert blurrer is not None
            encode = self._wanted(packet, from_burst)
            data = await loop.run_in_executor(_POOL, blurrer.blur, packet.data, encode)
            if self.clear:  # switched meanwhile: the feed now starts at the keyframe
                return await super().recv()
            if data is None:
                continue
            self._last_encoded_pts = packet.pts
            return self._send(packet, from_burst, data)

    def _wanted(self, packet: MediaPacket, from_burst: bool) -> bool:
        """Encode this picture? Only the newest of a backlog (the cached burst, or a
        slow moment), and no more than BLUR_FPS a second by the camera's clock."""
        if self._feed.pending > 0 and (from_burst or self._feed.pending > 2):
            return False
        if self._last_encoded_pts is None or packet.pts is None:
            return True
        step = packet.pts - self._last_encoded_pts
        return step < 0 or step >= FRAME_STEP_TICKS * 0.9

    def _send(self, source: MediaPacket, from_burst: bool, data: bytes) -> av.Packet:
        out = av.Packet(data)
        out.pts = self._clock.place(source, from_burst)
        out.time_base = VIDEO_TIME_BASE
        self.packets_sent += 1
        self.bytes_sent += len(data)
        self.blurred_frames += 1
        if self.packets_sent == 1:
            self._on_first_packet(source)
        return out
