"""State of one simulated camera and the raw pictures it produces (no GStreamer here)."""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass

import numpy as np

from .scenes import SceneLibrary

SCENARIOS = ("asleep", "empty", "floor", "dark", "frozen", "offline", "power_cut")
# Scenarios that show a scene of their own; the others change how the camera behaves.
SCENE_SCENARIOS = frozenset({"asleep", "empty", "floor", "dark"})
UNREACHABLE_SCENARIOS = frozenset({"offline", "power_cut"})

# Bits per pixel per frame for the encoder's target bitrate: gives about 1.4 Mbit/s at
# 720p15, what a real night-vision camera of that size sends, and keeps the grain visible.
BITS_PER_PIXEL = 0.1
MIN_BITRATE_KBPS = 200


@dataclass(frozen=True)
class StreamFormat:
    width: int
    height: int
    fps: int
    keyint_s: float

    @property
    def keyint_frames(self) -> int:
        return max(1, round(self.fps * self.keyint_s))

    @property
    def frame_duration_ns(self) -> int:
        return 1_000_000_000 // self.fps

    @property
    def bitrate_kbps(self) -> int:
        return max(MIN_BITRATE_KBPS, round(self.width * self.height * self.fps * BITS_PER_PIXEL / 1000))

    @property
    def i420_size(self) -> int:
        return self.width * self.height * 3 // 2

    def sub_stream(self) -> StreamFormat:
        """The low-bitrate second stream IP cameras offer for weak links: half the size."""
        return StreamFormat(self.width // 4 * 2, self.height // 4 * 2, self.fps, self.keyint_s)


class SimulatedCamera:
    """What one camera shows and whether it can be reached.

    Read by the frame clock thread, the RTSP server's main loop and the HTTP
    API threads; a lock keeps scenario and frozen picture consistent.
    """

    def __init__(self, name: str, scenario: str, stream_format: StreamFormat, scenes: SceneLibrary) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}")
        self.name = name
        self.format = stream_format
        self._scenes = scenes
        self._lock = threading.Lock()
        self._scenario = scenario
        self._privacy = False
        # What the lens saw before it froze or went offline, so that coming back
        # shows the same room rather than a default one.
        self._scene = scenario if scenario in SCENE_SCENARIOS else "asleep"
        self._frozen_frame: bytes | None = None
        self._last_frame: bytes | None = None
        self._frame_index = 0
        # Cameras started together should not breathe or sparkle in lockstep.
        offset_seed = zlib.crc32(name.encode())
        self._time_offset_s = (offset_seed % 1000) / 100.0
        self._noise_offset = offset_seed % 97
        self._frame = np.full(stream_format.i420_size, 128, dtype=np.uint8)
        self._luma = self._frame[: stream_format.width * stream_format.height].reshape(
            stream_format.height, stream_format.width
        )

    @property
    def scenario(self) -> str:
        return self._scenario

    @property
    def privacy(self) -> bool:
        return self._privacy

    @property
    def reachable(self) -> bool:
        """False while the RTSP mount must refuse and cut viewers."""
        return self._scenario not in UNREACHABLE_SCENARIOS

    @property
    def router_up(self) -> bool:
        return self._scenario != "power_cut"

    def set_scenario(self, scenario: str) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}")
        with self._lock:
            if scenario == "frozen" and self._scenario != "frozen":
                self._frozen_frame = self._last_frame
            if scenario in SCENE_SCENARIOS:
                self._scene = scenario
            self._scenario = scenario

    def set_privacy(self, privacy: bool) -> None:
        with self._lock:
            self._privacy = privacy

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "scenario": self._scenario,
            "privacy": self._privacy,
            "width": self.format.width,
            "height": self.format.height,
            "fps": self.format.fps,
            "keyint_s": self.format.keyint_s,
        }

    def _view(self) -> str:
        if self._scene == "dark":
            return "dark"  # a covered lens stays black whichever way it points
        if self._privacy:
            return "ceiling"
        return self._scene

    def next_frame(self) -> bytes:
        """The next raw I420 frame; called once per frame interval."""
        with self._lock:
            index = self._frame_index
            self._frame_index += 1
            if self._scenario == "frozen" and self._frozen_frame is not None:
                return self._frozen_frame
            seconds = index / self.format.fps + self._time_offset_s
            self._scenes.compose_luma(self._view(), seconds, index + self._noise_offset, self._luma)
            frame = self._frame.tobytes()
            self._last_frame = frame
            if self._scenario == "frozen":
                self._frozen_frame = frame  # started frozen: freeze the first picture
            return frame
