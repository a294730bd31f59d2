"""End-to-end fixtures: the real simulated cameras (RTSP), the real camera gateway
(WHEP/WebRTC), the Django control plane on a live server, and Debian's chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import time as wallclock
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.conf import settings

from e2e.chromium import CHROMIUM
from e2e.chromium import CHROMIUM_ARGS as BASE_CHROMIUM_ARGS
from nattillsyn import clock
from nattillsyn.clock import OffsetClock
from nattillsyn.testing import TEST_TOTP_SECRET

ROOT = Path(__file__).resolve().parent.parent
CAMERAS = ["cam1:asleep", "cam2:empty", "training:asleep"]

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests
# make between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def simcam() -> Iterator[dict[str, Any]]:
    rtsp_port, api_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            "/usr/bin/python3",
            "-m",
            "simcam",
            "--rtsp-port",
            str(rtsp_port),
            "--api-port",
            str(api_port),
            "--size",
            "640x360",
            "--fps",
            "10",
            "--keyint",
            "2",
            "--user",
            "demo",
            "--password",
            "demo",
            # cam2 also answers ONVIF (pan/tilt with a view and a privacy preset): e2e/test_onvif_e2e.py
            "--onvif",
            "cam2",
            *CAMERAS,
        ],
        cwd=ROOT,
    )
    wait_for_http(f"http://127.0.0.1:{api_port}/cameras", process)
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/cameras/cam2", timeout=5) as response:
        onvif_port = json.loads(response.read())["onvif_port"]
    yield {"rtsp_port": rtsp_port, "api_url": f"http://127.0.0.1:{api_port}", "onvif_port": onvif_port}
    stop(process)


@pytest.fixture(scope="session")
def gateway(live_server: Any, simcam: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "NATTILLSYN_CONTROL_URL": live_server.url,
        "NATTILLSYN_GRANT_KEY": settings.GRANT_KEY,
        "NATTILLSYN_GATEWAY_TOKEN": settings.GATEWAY_TOKEN,
        "GATEWAY_ID": "gw-e2e",
        # Listed nowhere, and the test database is there only during a test: no idle polls.
        "GATEWAY_HEARTBEAT": "false",
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_ALLOWED_ORIGINS": live_server.url,
    }
    process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", process)
    yield url
    stop(process)


@pytest.fixture
def system(
    live_server: Any, simcam: dict[str, Any], gateway: str, transactional_db: None, settings: Any
) -> Iterator[dict[str, Any]]:
    """The whole system, with the control plane pointed at the test gateway and cameras."""
    settings.GATEWAY_URL = gateway
    settings.SIMCAM_API_URL = simcam["api_url"]
    offset_clock = OffsetClock()
    clock.set_now_provider(offset_clock)
    yield {
        "url": live_server.url,
        "gateway": gateway,
        "simcam": simcam,
        "clock": offset_clock,
        "rtsp": f"rtsp://127.0.0.1:{simcam['rtsp_port']}",
    }
    wait_for_gateway_quiet(gateway)
    clock.reset()


def wait_for_gateway_quiet(gateway: str, timeout: float = 20) -> None:
    """Until the gateway holds no view and has told the control plane everything.

    The test's database is emptied after each test; a view's last event written at that
    moment deadlocks with the emptying on PostgreSQL (and the next test starts on a
    database that was not emptied). The browser pages are closed before this runs.
    """
    request = urllib.request.Request(f"{gateway}/health", headers={"Authorization": f"Bearer {settings.GATEWAY_TOKEN}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=5) as response:
            health = json.loads(response.read())
        if health["sessions"] == 0 and health["events_pending"] == 0:
            return
        time.sleep(0.1)
    warnings.warn(f"the gateway still has views or events after {timeout} s: {health}", stacklevel=1)


CHROMIUM_ARGS = [*BASE_CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any, system: dict[str, Any]) -> Iterator[Any]:
    contexts = []

    def open_page(username: str, password: str = "nattillsyn-test-password") -> Any:
        context = browser.new_context(locale="sv-SE", viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(system["url"] + "/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("[data-testid=login-submit]")
        page.wait_for_url("**/mfa/**")
        enter_code(page)
        return page

    def enter_code(page: Any) -> None:
        # Each code works once per user: if a test logs the same user in twice within
        # one 30 s step, wait for the next code.
        for _attempt in range(2):
            # The control plane's clock, which a test may have moved ahead of wall time.
            page.fill("input[name=code]", pyotp.TOTP(TEST_TOTP_SECRET).at(clock.now()))
            page.click("[data-testid=verify-code]")
            page.wait_for_load_state()
            if "/mfa/" not in page.url:
                return
            wallclock.sleep(30 - wallclock.time() % 30 + 0.5)
        raise AssertionError("the second factor was not accepted")

    yield open_page
    for context in contexts:
        context.close()
