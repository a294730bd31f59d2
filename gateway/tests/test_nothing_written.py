"""The gateway keeps pictures in memory only: after real views, not one byte on disk.

The gateway runs as ``python -m gateway`` in a fresh working directory with an empty
TMPDIR and HOME, under strace (file syscalls only). Proof, strongest first: strace
shows no file opened for writing, created, renamed or removed; the kernel's
write_bytes counter of the process stays 0; no file appears or changes in its
working directory, TMPDIR, HOME or /dev/shm. Its log names no camera address.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from gateway.tests.camera_process import REPO, simulated_cameras
from gateway.tests.fakes import GATEWAY_TOKEN, GRANT_KEY, FakeControlPlane, WhepClient, make_grant, serve_app

TRACED_SYSCALLS = (
    "open,openat,openat2,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir,"
    "link,linkat,symlink,symlinkat,truncate,ftruncate,memfd_create,mknod,mknodat"
)
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND")
# Opening these for writing stores nothing.
HARMLESS_WRITE_TARGETS = ("/dev/null", "/dev/tty", "/dev/urandom")


def snapshot(*directories: Path) -> dict[str, tuple[int, int]]:
    files: dict[str, tuple[int, int]] = {}
    for directory in directories:
        for path in directory.rglob("*"):
            try:
                stat = path.lstat()
            except FileNotFoundError:  # another process's short-lived file in /dev/shm
                continue
            if stat.st_uid != os.getuid():
                # Another service's file (PostgreSQL's shared memory in /dev/shm): the
                # gateway runs as this user, so whatever it wrote would be this user's.
                continue
            files[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise AssertionError("no write_bytes in /proc/<pid>/io")


def traced_gateway(strace_pid: int, timeout_s: float = 10.0) -> int:
    """The gateway's pid under strace (which first forks a short-lived helper of its own)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in Path(f"/proc/{strace_pid}/task/{strace_pid}/children").read_text().split():
            try:
                program = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0]
                if not program.endswith(b"strace"):  # after exec, not the helper
                    return int(child)
            except FileNotFoundError:
                continue
        time.sleep(0.02)
    raise AssertionError("strace started no gateway")


def suspicious_file_calls(trace: str) -> list[str]:
    """Trace lines that could have stored something in a file."""
    found = []
    for line in trace.splitlines():
        call = re.search(r"\b(\w+)\(", line)
        if call is None or "resumed>" in line:
            continue
        if call[1] in ("open", "openat", "openat2", "creat"):
            path = re.search(r'"([^"]*)"', line)
            if (call[1] == "creat" or WRITE_FLAGS.search(line)) and not (path and path[1] in HARMLESS_WRITE_TARGETS):
                found.append(line)
        elif call[1] != "ftruncate" or "= -1" not in line:
            found.append(line)
    return found


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
async def test_real_views_write_nothing_to_disk(tmp_path: Path) -> None:
    workdir, tmpdir, home = tmp_path / "cwd", tmp_path / "tmp", tmp_path / "home"
    for directory in (workdir, tmpdir, home):
        directory.mkdir()
    trace_file = tmp_path / "strace.txt"  # strace writes it, not the gateway
    watched = (workdir, tmpdir, home, Path("/dev/shm"))

    with simulated_cameras("cam1:asleep", size="320x180", fps=10, keyint_s=1.0) as cameras:
        control = FakeControlPlane(rtsp_url=cameras.url("cam1"))
        async with serve_app(control.app()) as control_url:
            control.url = control_url
            port = free_port()
            gateway_url = f"http://127.0.0.1:{port}"
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": str(REPO),
                "PYTHONDONTWRITEBYTECODE": "1",
                "TMPDIR": str(tmpdir),
                "HOME": str(home),
                "GATEWAY_ID": "gw-test",
                "GATEWAY_BIND": f"127.0.0.1:{port}",
                "NATTILLSYN_CONTROL_URL": control_url,
                "NATTILLSYN_GRANT_KEY": GRANT_KEY.decode(),
                "NATTILLSYN_GATEWAY_TOKEN": GATEWAY_TOKEN,
            }
            before = snapshot(*watched)
            strace = subprocess.Popen(
                ["strace", "-f", "-qq", "--seccomp-bpf", "-o", str(trace_file), "-e", f"trace={TRACED_SYSCALLS}",
                 sys.executable, "-B", "-m", "gateway"],
                cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            gateway_pid = None
            try:
                gateway_pid = traced_gateway(strace.pid)
                await wait_healthy(gateway_url)
                # write_bytes is measured over a second round of views: on a fresh machine the
                # first read of each installed file (start-up, and modules first imported by
                # the first view) updates its access time, and the kernel counts that inode
                # write against the reader. strace below still covers both rounds.
                await run_views(gateway_url, control, cameras.url("cam1"))
                written_before = write_bytes(gateway_pid)
                await run_views(gateway_url, control, cameras.url("cam1"))
                written = write_bytes(gateway_pid) - written_before
                live = WhepClient()  # still watching when the gateway is told to stop
                assert await live.connect(gateway_url, make_grant()) == 201
                await live.first(timeout_s=5)
                os.kill(gateway_pid, signal.SIGTERM)
                _, log = await asyncio.to_thread(strace.communicate, timeout=15)
                await live.close()
            finally:
                if strace.poll() is None:  # the test failed midway: stop the gateway, then strace
                    if gateway_pid is not None:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(gateway_pid, signal.SIGKILL)
                    strace.kill()
                    strace.wait()
            after = snapshot(*watched)

    assert strace.returncode == 0, log  # SIGTERM is a clean stop
    ended = control.events_of(event="ended")
    assert len(ended) == 7
    (live_end,) = control.events_of(live.session_id, "ended")
    assert live_end["reason"] == "shutdown" and live_end["bytes_sent"] > 0
    assert all(event["bytes_sent"] > 10_000 for event in ended if event is not live_end)
    assert suspicious_file_calls(trace_file.read_text()) == []
    assert written == 0
    assert {path: state for path, state in after.items() if before.get(path) != state} == {}
    assert "rtsp://" not in log and "demo:demo" not in log  # camera addresses carry credentials
    assert len(log) < 20_000


async def wait_healthy(url: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{url}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "the gateway did not start"
            await asyncio.sleep(0.1)


async def run_views(gateway_url: str, control: FakeControlPlane, rtsp_url: str) -> None:
    """Two views at once (one prepared, one cold) cut by their grant, one closed by the viewer, a probe."""
    prepared, cold, closed = make_grant(max_view_s=2), make_grant(max_view_s=2), make_grant()
    auth = {"Authorization": f"Bearer {GATEWAY_TOKEN}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        response = await http.post(f"{gateway_url}/internal/prepare", json={"grant": prepared, "rtsp_url": rtsp_url})
        assert response.status == 202
        await asyncio.sleep(1.5)
        clients = [WhepClient(), WhepClient()]
        for client, grant in zip(clients, (prepared, cold), strict=True):
            assert await client.connect(gateway_url, grant) == 201
        for client in clients:
            await client.first(timeout_s=5)
            await control.wait_event("ended", client.session_id, timeout_s=8)
        viewer = WhepClient()
        assert await viewer.connect(gateway_url, closed) == 201
        await viewer.first(timeout_s=5)
        await asyncio.sleep(1.0)
        assert await viewer.delete(gateway_url, closed) == 200
        await control.wait_event("ended", viewer.session_id)
        response = await http.post(f"{gateway_url}/internal/probe", json={"rtsp_url": rtsp_url, "seconds": 1})
        assert (await response.json())["reachable"] is True
        for client in [*clients, viewer]:
            await client.close()
