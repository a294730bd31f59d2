"""Start and stop ONVIF devices for tests and benchmarks: ipycam (an implementation
written elsewhere, from PyPI) in its own process, on a free port."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "installer", "s3cret-Pw"


@contextmanager
def ipycam(
    directory: Path, mode: str = "normal", *, user: str = USER, password: str = PASSWORD, discovery_port: int = 0
) -> Iterator[int]:
    """An ipycam device answering ONVIF on 127.0.0.1; yields its port."""
    directory.mkdir(parents=True, exist_ok=True)  # ipycam keeps its presets in the working directory
    process = subprocess.Popen(
        [sys.executable, "-m", "cameras.tests.ipycam_device", "--port", "0", "--mode", mode]
        + (["--user", user, "--password", password] if user else [])
        + (["--discovery-port", str(discovery_port)] if discovery_port else []),
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _w, _x = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("ipycam ready port="):
            raise RuntimeError(f"ipycam did not start: {line!r}")
        yield int(line.split("=", 1)[1])
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
