"""Technical camera test: is it reachable, is the picture black or frozen, size, fps.

A plain blocking function, also imported by the control plane's worker for health
probes, so this module imports neither aiortc nor Django. It decodes a few seconds
into small grey crops held in memory and returns only numbers: no picture
leaves the function, nothing is written anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import av

from gateway.rtsp import describe_error, open_container

# Pictures are analysed in pure Python (no numpy here), on a grey half-resolution
# crop of at most 320x180 from the middle of the frame: ~10 ms a frame whatever the
# camera's size, and 2x2 averaging keeps the sensor grain that shows a picture is live.
CROP_WIDTH, CROP_HEIGHT = 320, 180
BLACK_MEAN_LUMA = 32  # video-range black is 16; a working IR picture is far brighter
BLACK_MAX_SPREAD = 8  # standard deviation; a black frame is flat as well as dark
BLACK_SHARE = 0.9
# A stuck camera still shows grain, but the grain no longer changes: frozen when the
# change from frame to frame is small against the detail inside a frame (medians of
# mean absolute luma differences). Measured on simcam from 320x180 to 1280x720 and
# keyframes every 1-2 s: frozen 0.05-0.07, live scenes (asleep, empty, floor) 0.23-0.42,
# dark ~1. A fixed threshold on the change alone did not hold across sizes: the
# encoder keeps refining a still picture, so it never stops changing entirely.
FROZEN_CHANGE_TO_DETAIL = 0.12
MIN_DETAIL = 0.1  # a perfectly flat picture (all black) has no detail to compare with


@dataclass(frozen=True)
class ProbeResult:
    reachable: bool
    black: bool = False
    frozen: bool = False
    width: int = 0
    height: int = 0
    fps: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_black(crop: bytes) -> bool:
    mean = sum(crop) / len(crop)
    sample = crop[::7]
    spread = (sum((value - mean) ** 2 for value in sample) / len(sample)) ** 0.5
    return mean < BLACK_MEAN_LUMA and spread < BLACK_MAX_SPREAD


def mean_change(before: bytes, after: bytes) -> float:
    return sum(map(abs, map(int.__sub__, before, after))) / len(after)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


class PictureStats:
    """Black and frozen judgement, fed one grey crop at a time (keeps only the last one)."""

    def __init__(self) -> None:
        self.frames = 0
        self._black_frames = 0
        self._changes: list[float] = []  # frame to frame
        self._details: list[float] = []  # neighbouring pixels within a frame
        self._previous: bytes | None = None

    def add(self, crop: bytes) -> None:
        self.frames += 1
        self._black_frames += is_black(crop)
        self._details.append(mean_change(crop[:-1], crop[1:]))
        if self._previous is not None and len(self._previous) == len(crop):
            self._changes.append(mean_change(self._previous, crop))
        self._previous = crop

    @property
    def black(self) -> bool:
        return self.frames > 0 and self._black_frames >= BLACK_SHARE * self.frames

    @property
    def frozen(self) -> bool:
        if not self._changes:
            return True  # at most one picture in the whole probe is a freeze too
        return _median(self._changes) < FROZEN_CHANGE_TO_DETAIL * max(_median(self._details), MIN_DETAIL)


def analyse_crops(crops: Sequence[bytes]) -> tuple[bool, bool]:
    """(black, frozen) for grey crops of consecutive frames."""
    stats = PictureStats()
    for crop in crops:
        stats.add(crop)
    return stats.black, stats.frozen


def probe_camera(
    rtsp_url: str,
    rtsp_transport: str = "tcp",
    seconds: float = 3.0,
    *,
    open_timeout_s: float = 5.0,
    keyframe_wait_s: float = 5.0,
) -> ProbeResult:
    """Connect, decode ``seconds`` of video from the first keyframe, and judge it.

    Blocking; call it from a thread or a worker. Never raises for camera trouble:
    an unreachable camera is a result, with ``error`` saying why (no credentials).
    """
    try:
        container = open_container(rtsp_url, rtsp_transport, open_timeout_s, read_timeout_s=open_timeout_s)
    except (av.FFmpegError, OSError) as exc:
        return ProbeResult(reachable=False, error=describe_error(exc, rtsp_url))
    try:
        if not container.streams.video:
            return ProbeResult(reachable=True, frozen=True, error="no video stream")
        stream = container.streams.video[0]
        stats = PictureStats()
        first_pts = last_pts = None
        width = height = 0
        deadline = time.monotonic() + keyframe_wait_s + seconds
        window_end: float | None = None
        for packet in container.demux(stream):
            now = time.monotonic()
            if now > deadline or (window_end is not None and now > window_end):
                break
            for frame in packet.decode():
                if window_end is None:  # decoding starts at the first keyframe
                    window_end = now + seconds
                width, height = frame.width, frame.height
                if frame.pts is not None:
                    first_pts = frame.pts if first_pts is None else first_pts
                    last_pts = frame.pts
                stats.add(grey_crop(frame))
        fps = 0.0
        if first_pts is not None and last_pts is not None and last_pts > first_pts and stream.time_base:
            fps = round((stats.frames - 1) / float((last_pts - first_pts) * stream.time_base), 2)
        error = None if stats.frames else "no picture decoded"
        return ProbeResult(True, stats.black, stats.frozen, width, height, fps, error)
    except (av.FFmpegError, OSError) as exc:
        return ProbeResult(reachable=True, frozen=True, error=describe_error(exc, rtsp_url))
    finally:
        container.close()


def grey_crop(frame: Any) -> bytes:
    """The middle of the frame at half resolution, grey, at most CROP_WIDTH x CROP_HEIGHT."""
    half = frame.reformat(width=max(2, frame.width // 2), height=max(2, frame.height // 2), format="gray")
    plane = half.planes[0]
    raw = bytes(plane)
    width, height = min(half.width, CROP_WIDTH), min(half.height, CROP_HEIGHT)
    left, top = (half.width - width) // 2, (half.height - height) // 2
    starts = ((top + row) * plane.line_size + left for row in range(height))
    return b"".join(raw[start : start + width] for start in starts)
