"""Starts simcam (the simulated RTSP cameras) as a subprocess for the real-path tests."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"  # simcam needs Debian's PyGObject/GStreamer
READY = re.compile(r"simcam ready rtsp=(\d+) api=(\d+)")


@dataclass(frozen=True)
class SimulatedCameras:
    rtsp_port: int
    api_port: int
    user: str
    password: str

    def url(self, name: str, password: str | None = None) -> str:
        return f"rtsp://{self.user}:{password or self.password}@127.0.0.1:{self.rtsp_port}/{name}"


def simcam_missing_reason() -> str | None:
    if not (REPO / "simcam" / "__main__.py").exists():
        return "simcam/ is not there: no simulated camera to pull"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} (with GStreamer) is not installed"
    return None


@contextlib.contextmanager
def simulated_cameras(
    *cameras: str, size: str = "320x180", fps: int = 10, keyint_s: float = 2.0, ready_timeout_s: float = 20.0
) -> Iterator[SimulatedCameras]:
    """Run ``python3 -m simcam`` on free ports until the block ends."""
    reason = simcam_missing_reason()
    if reason:
        pytest.skip(reason)
    command = [
        SYSTEM_PYTHON, "-m", "simcam", "--rtsp-port", "0", "--api-port", "0", "--size", size,
        "--fps", str(fps), "--keyint", str(keyint_s), "--user", "demo", "--password", "demo", *cameras,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        ports = _wait_ready(process, ready_timeout_s)
        for pipe in (process.stdout, process.stderr):  # drained, or a chatty simcam would block
            threading.Thread(target=deque, args=(pipe, 50), daemon=True).start()
        yield SimulatedCameras(ports[0], ports[1], "demo", "demo")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_ready(process: subprocess.Popen[str], timeout_s: float) -> tuple[int, int]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        readable, _, _ = select.select([process.stdout], [], [], 0.2)
        if readable:
            line = process.stdout.readline()
            if match := READY.search(line):
                return int(match[1]), int(match[2])
        if process.poll() is not None:
            raise RuntimeError(f"simcam exited: {process.stderr.read() if process.stderr else ''}")
    raise RuntimeError("simcam did not become ready")
