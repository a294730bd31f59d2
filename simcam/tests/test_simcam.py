"""End-to-end tests of the simulated cameras: a real simcam process, a real RTSP client.

The simulator needs Debian's interpreter (PyGObject, GStreamer, numpy); the
tests run in the project's venv and only use PyAV and the standard library,
so all picture statistics are computed from raw luma bytes.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import av.container
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
CLIENT_OPTIONS = {"rtsp_transport": "tcp", "probesize": "32", "analyzeduration": "0"}
CLIENT_TIMEOUT = (5, 5)
USER, PASSWORD = "demo", "s3cret"
WIDTH, HEIGHT, FPS, KEYINT_S = 320, 180, 10, 2
CAMERAS = {
    "asleep": "asleep",
    "empty": "empty",
    "floor": "floor",
    "dark": "dark",
    "frozen": "frozen",
    "privacy": "asleep",
    "outage": "asleep",
    "joins": "asleep",
}
GRID_COLUMNS, GRID_ROWS = 8, 6

pytestmark = pytest.mark.skipif(
    not Path(SYSTEM_PYTHON).exists() or sys.platform != "linux", reason="needs Debian's python3 with GStreamer"
)


# --- running the simulator -------------------------------------------------------


@dataclass
class Simulator:
    process: subprocess.Popen[str]
    rtsp_port: int
    api_port: int
    camera_count: int

    def url(self, camera: str, user: str = USER, password: str = PASSWORD) -> str:
        credentials = f"{user}:{password}@" if user else ""
        return f"rtsp://{credentials}127.0.0.1:{self.rtsp_port}/{camera}"

    def api(self, method: str, path: str, body: object = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -1


def start_simulator(*options: str, cameras: dict[str, str]) -> Simulator:
    command = [SYSTEM_PYTHON, "-m", "simcam", "--rtsp-port", "0", "--api-port", "0", *options]
    command += [f"{name}:{scenario}" for name, scenario in cameras.items()]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    stdout = process.stdout
    assert stdout is not None
    ready: list[str] = []
    # readline() in a thread: a simulator that hangs must fail the test, not block it.
    reader = threading.Thread(target=lambda: ready.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=30)
    line = ready[0].split() if ready else []
    if len(line) != 5 or line[:2] != ["simcam", "ready"]:
        process.kill()
        pytest.fail(f"simcam did not get ready: {ready!r}, exit code {process.poll()}")
    fields = dict(item.split("=") for item in line[2:])
    return Simulator(process, int(fields["rtsp"]), int(fields["api"]), int(fields["cameras"]))


@pytest.fixture(scope="module")
def simcam() -> Iterator[Simulator]:
    simulator = start_simulator(
        "--size", f"{WIDTH}x{HEIGHT}", "--fps", str(FPS), "--keyint", str(KEYINT_S),
        "--user", USER, "--password", PASSWORD,
        cameras=CAMERAS,
    )  # fmt: skip
    yield simulator
    assert simulator.stop() == 0, "simcam did not stop cleanly on SIGTERM"


# --- reading pictures ------------------------------------------------------------


@dataclass(frozen=True)
class Luma:
    """The luma plane of one decoded frame, without row padding."""

    width: int
    height: int
    pixels: bytes

    @classmethod
    def of(cls, frame: av.VideoFrame) -> Luma:
        plane = frame.planes[0]
        data = bytes(plane)
        rows = (data[row * plane.line_size : row * plane.line_size + frame.width] for row in range(frame.height))
        return cls(frame.width, frame.height, b"".join(rows))

    @property
    def mean(self) -> float:
        return sum(self.pixels) / len(self.pixels)

    def grid_means(self) -> list[float]:
        """Mean luma of GRID_COLUMNS x GRID_ROWS blocks: where in the picture things differ."""
        block_w, block_h = self.width // GRID_COLUMNS, self.height // GRID_ROWS
        means = []
        for grid_row in range(GRID_ROWS):
            for grid_column in range(GRID_COLUMNS):
                total = 0
                for row in range(grid_row * block_h, (grid_row + 1) * block_h):
                    start = row * self.width + grid_column * block_w
                    total += sum(self.pixels[start : start + block_w])
                means.append(total / (block_w * block_h))
        return means

    def mean_abs_difference(self, other: Luma) -> float:
        return sum(abs(a - b) for a, b in zip(self.pixels, other.pixels, strict=True)) / len(self.pixels)


def largest_block_difference(a: Luma, b: Luma) -> float:
    return max(abs(x - y) for x, y in zip(a.grid_means(), b.grid_means(), strict=True))


def open_camera(url: str) -> av.container.InputContainer:
    return av.open(url, options=CLIENT_OPTIONS, timeout=CLIENT_TIMEOUT)


def capture(url: str, count: int) -> list[Luma]:
    """`count` consecutive decoded frames, from the first keyframe on."""
    frames: list[Luma] = []
    with open_camera(url) as container:
        for frame in container.decode(video=0):
            if frame.key_frame or frames:
                frames.append(Luma.of(frame))
            if len(frames) == count:
                return frames
    raise AssertionError(f"stream ended after {len(frames)} frames")


def capture_many(simcam: Simulator, cameras: list[str], count: int) -> dict[str, list[Luma]]:
    with ThreadPoolExecutor(max_workers=len(cameras)) as pool:
        captures = {name: pool.submit(capture, simcam.url(name), count) for name in cameras}
        return {name: future.result(timeout=20) for name, future in captures.items()}


# --- tests -----------------------------------------------------------------------


def test_api_lists_cameras_as_in_the_contract(simcam: Simulator) -> None:
    assert simcam.camera_count == len(CAMERAS)
    status, cameras = simcam.api("GET", "/cameras")
    assert status == 200
    assert [camera["name"] for camera in cameras] == list(CAMERAS)
    assert cameras[0] == {
        "name": "asleep", "scenario": "asleep", "privacy": False,
        "width": WIDTH, "height": HEIGHT, "fps": FPS, "keyint_s": KEYINT_S,
    }  # fmt: skip
    status, camera = simcam.api("GET", "/cameras/floor")
    assert (status, camera["scenario"]) == (200, "floor")
    assert simcam.api("GET", "/cameras/asleep/heartbeat") == (200, {"router": "up"})


def test_correct_credentials_decode_h264_baseline(simcam: Simulator) -> None:
    with open_camera(simcam.url("asleep")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert "Baseline" in (stream.codec_context.profile or "")
        frame = next(frame for frame in container.decode(stream) if frame.key_frame)
        assert (frame.width, frame.height) == (WIDTH, HEIGHT)


def test_every_camera_also_serves_a_half_size_sub_stream(simcam: Simulator) -> None:
    with open_camera(simcam.url("asleep") + "/sub") as container:
        frame = next(frame for frame in container.decode(video=0) if frame.key_frame)
        assert (frame.width, frame.height) == (WIDTH // 4 * 2, HEIGHT // 4 * 2)


@pytest.mark.parametrize(
    ("user", "password", "camera", "error"),
    [
        (USER, "wrong", "asleep", av.error.HTTPUnauthorizedError),
        ("", "", "asleep", av.error.HTTPUnauthorizedError),
        (USER, PASSWORD, "no-such-camera", av.error.HTTPNotFoundError),
    ],
)
def test_wrong_credentials_or_mount_are_refused(
    simcam: Simulator, user: str, password: str, camera: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        open_camera(simcam.url(camera, user, password))


def test_scenes_look_as_their_scenario_says(simcam: Simulator) -> None:
    captured = capture_many(simcam, ["asleep", "empty", "floor", "dark"], count=3)
    asleep, empty, floor, dark = (captured[name][-1] for name in ("asleep", "empty", "floor", "dark"))
    assert dark.mean < 30, "a blocked lens must be near-black"
    assert max(dark.grid_means()) < 35
    assert asleep.mean > 50 and empty.mean > 50 and floor.mean > 50
    # Whole-picture means are alike (same room); the person shows up in some blocks.
    assert largest_block_difference(asleep, empty) > 12
    assert largest_block_difference(asleep, floor) > 12
    assert largest_block_difference(empty, floor) > 12
    # Grain: a night-vision picture is never perfectly flat.
    assert len(set(dark.pixels)) > 3


def test_frozen_repeats_one_frame_while_asleep_keeps_moving(simcam: Simulator) -> None:
    captured = capture_many(simcam, ["frozen", "asleep"], count=20)
    frozen_changes = [a.mean_abs_difference(b) for a, b in pairwise(captured["frozen"])]
    asleep_changes = [a.mean_abs_difference(b) for a, b in pairwise(captured["asleep"])]
    # The encoder gets the same picture every time; it may still sharpen its copy for
    # a few frames after a keyframe, then sends pictures that decode identically.
    assert frozen_changes.count(0.0) >= 3, frozen_changes
    assert max(frozen_changes) < 1.2 and sum(frozen_changes) / len(frozen_changes) < 0.5, frozen_changes
    # Grain and breathing make every asleep frame differ a little, but it stays the same scene.
    # (One pair may differ less: on a loaded machine the encoder may drop to a smaller step.)
    assert min(asleep_changes) > 0.3 and sorted(asleep_changes)[1] > 0.8, asleep_changes
    assert sum(asleep_changes) / len(asleep_changes) > 1.2, asleep_changes
    assert max(asleep_changes) < 8, asleep_changes
    first, last = captured["asleep"][0], captured["asleep"][-1]
    assert largest_block_difference(first, last) < 8


def test_privacy_position_shows_the_ceiling_within_a_frame_or_two(simcam: Simulator) -> None:
    bedroom = capture(simcam.url("privacy"), 1)[0]
    seen: list[tuple[float, Luma]] = []
    with open_camera(simcam.url("privacy")) as container:
        frames = container.decode(video=0)
        next(frame for frame in frames if frame.key_frame)
        switched_at = time.monotonic()
        assert simcam.api("PUT", "/cameras/privacy/privacy", {"privacy": True})[1]["privacy"] is True
        for frame in frames:
            seen.append((time.monotonic() - switched_at, Luma.of(frame)))
            if len(seen) == 8:
                break
    ceiling = seen[-1][1]
    assert largest_block_difference(bedroom, ceiling) > 25
    first_changed = next(delay for delay, luma in seen if largest_block_difference(bedroom, luma) > 12)
    assert first_changed < 0.5, "privacy must take effect within a frame (plus transport)"
    status, camera = simcam.api("PUT", "/cameras/privacy/privacy", {"privacy": False})
    assert (status, camera["privacy"]) == (200, False)
    assert largest_block_difference(bedroom, capture(simcam.url("privacy"), 1)[0]) < 8


def test_offline_cuts_viewers_and_refuses_new_ones_power_cut_kills_heartbeat(simcam: Simulator) -> None:
    ended_at: list[float] = []

    def watch(container: av.container.InputContainer) -> None:
        try:
            for _packet in container.demux(video=0):
                pass
        except av.error.FFmpegError:
            pass
        ended_at.append(time.monotonic())

    viewers = [open_camera(simcam.url("outage")) for _ in range(2)]
    watchers = [threading.Thread(target=watch, args=(viewer,), daemon=True) for viewer in viewers]
    for watcher in watchers:
        watcher.start()
    time.sleep(0.5)
    assert not ended_at, "viewers must be streaming before the outage"
    cut_at = time.monotonic()
    assert simcam.api("PUT", "/cameras/outage/scenario", {"scenario": "offline"})[0] == 200
    for watcher in watchers:
        watcher.join(timeout=5)
    assert len(ended_at) == 2 and max(ended_at) - cut_at < 2, "existing viewers must be cut"
    with pytest.raises(av.error.FFmpegError):
        open_camera(simcam.url("outage"))
    assert simcam.api("GET", "/cameras/outage/heartbeat") == (200, {"router": "up"})

    assert simcam.api("PUT", "/cameras/outage/scenario", {"scenario": "power_cut"})[0] == 200
    with pytest.raises(av.error.FFmpegError):
        open_camera(simcam.url("outage"))
    status, _body = simcam.api("GET", "/cameras/outage/heartbeat")
    assert status == 503

    assert simcam.api("PUT", "/cameras/outage/scenario", {"scenario": "asleep"})[0] == 200
    assert simcam.api("GET", "/cameras/outage/heartbeat")[0] == 200
    assert len(capture(simcam.url("outage"), 1)) == 1
    for viewer in viewers:
        viewer.close()


def test_joining_viewers_wait_for_the_periodic_keyframe(simcam: Simulator) -> None:
    """No keyframe on join: viewers joining at random moments wait different times."""
    joins = 6
    rng = random.Random()
    results: list[tuple[bool, float]] = []  # (first packet is a keyframe, seconds to first keyframe)
    background_keyframes: list[float] = []
    stop_background = threading.Event()

    def background_viewer() -> None:
        # Holds the shared media open, so most joins join a running stream.
        with open_camera(simcam.url("joins")) as container:
            for packet in container.demux(video=0):
                if packet.is_keyframe and packet.pts is not None:
                    background_keyframes.append(float(packet.pts * packet.time_base))
                if stop_background.is_set():
                    return

    def join(delay: float) -> None:
        time.sleep(delay)
        with open_camera(simcam.url("joins")) as container:
            opened = time.monotonic()
            for index, packet in enumerate(container.demux(video=0)):
                if packet.is_keyframe:
                    results.append((index == 0, time.monotonic() - opened))
                    return

    background = threading.Thread(target=background_viewer, daemon=True)
    background.start()
    delays = [rng.uniform(0, KEYINT_S * 1.5) for _ in range(joins)]
    with ThreadPoolExecutor(max_workers=joins) as pool:
        for future in [pool.submit(join, delay) for delay in delays]:
            future.result(timeout=15)
    # The background viewer measures the camera's own keyframe period: let it see a few
    # (on a busy machine its connection may have opened after the joins were done).
    deadline = time.monotonic() + 3 * KEYINT_S + 5
    while len(background_keyframes) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop_background.set()
    background.join(timeout=5)

    assert len(results) == joins, "every viewer of the shared stream must get a keyframe"
    started_on_keyframe = sum(first for first, _ in results)
    waits = [wait for _, wait in results]
    assert started_on_keyframe <= 2, f"keyframes seem forced on join: {results}"
    # Forced keyframes would make every wait ~0; random joins spread over the interval.
    assert max(waits) - min(waits) > 0.25, f"every join waited the same: {waits}"
    assert max(waits) < KEYINT_S + 0.5, waits
    periods = [b - a for a, b in pairwise(background_keyframes)]
    assert periods and all(abs(period - KEYINT_S) < 0.15 for period in periods), periods


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PUT", "/cameras/asleep/scenario", b'{"scenario": "sleeping"}', 400),
        ("PUT", "/cameras/asleep/scenario", b"scenario=dark", 400),
        ("PUT", "/cameras/asleep/scenario", b"[]", 400),
        ("PUT", "/cameras/asleep/scenario", b'{"scenario": 3}', 400),
        ("PUT", "/cameras/asleep/privacy", b'{"privacy": "yes"}', 400),
        ("PUT", "/cameras/asleep/privacy", b"{}", 400),
        ("PUT", "/cameras/nobody/scenario", b'{"scenario": "dark"}', 404),
        ("GET", "/cameras/nobody", None, 404),
        ("GET", "/cameras/nobody/heartbeat", None, 404),
        ("GET", "/cameras/asleep/scenario", None, 405),
    ],
)
def test_api_rejects_bad_input(simcam: Simulator, method: str, path: str, body: bytes | None, status: int) -> None:
    got_status, document = simcam.api(method, path, raw=body)
    assert got_status == status
    assert isinstance(document, dict) and document.get("error")
    assert simcam.api("GET", "/cameras/asleep")[1]["scenario"] == "asleep", "bad input must change nothing"


def test_fractional_keyframe_interval_and_open_rtsp() -> None:
    simulator = start_simulator(
        "--size", "160x90", "--fps", "10", "--keyint", "0.5", "--user", "", cameras={"cam": "asleep"}
    )
    try:
        keyframe_times: list[float] = []
        with open_camera(simulator.url("cam", user="")) as container:
            for packet in container.demux(video=0):
                if packet.is_keyframe and packet.pts is not None:
                    keyframe_times.append(float(packet.pts * packet.time_base))
                if len(keyframe_times) == 3:
                    break
        periods = [b - a for a, b in pairwise(keyframe_times)]
        assert all(abs(period - 0.5) < 0.06 for period in periods), periods
    finally:
        assert simulator.stop() == 0


def test_cli_rejects_unknown_scenario() -> None:
    result = subprocess.run(
        [SYSTEM_PYTHON, "-m", "simcam", "cam1:sleeping"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "scenario must be one of" in result.stderr
