"""The operator's check as an operator does it, measured through the product.

The product's own processes, as `make run` starts them (gunicorn web, the worker, the
camera gateway, simulated cameras with a keyframe every 2 s that never send one on
request), on SQLite, on loopback. Debian's Chromium, driven by Playwright, logs in
with password and second factor and works through the console with its own buttons
and keys:

1. click "Öppna" on the first check to do (click 1); the check page loads and the
   picture plays by itself;
2. look at the picture (the municipality's shortest look, 2 s; the figures count a 5 s
   look), then press Enter = "seen, OK" (key 2); the console shows the next check.

Printed (``name: value``), all as the operator experiences them:
- ``flow.first_frame_p50_s`` / ``flow.first_frame_p95_s``: the click on the console to
  the first frame painted in the check page (the page's requestVideoFrameCallback);
- ``flow.first_frame_p95_s_unprepared``: the same with readying turned off
  (NATTILLSYN_PREPARE_AHEAD=0), the reference in the same run;
- ``flow.clicks_per_check``: clicks and keys the operator needed per check;
- ``flow.operator_wait_p50_s``: machine wait per check excluding the look itself
  (click → first frame, plus Enter → the console ready with the next check);
- ``flow.checks_per_operator_hour``: 3600 / (median wait + a 5 s look);
- ``flow.seen_without_view_accepted``: "seen" posted before any frame reached the
  page (the button forced on), accepted by the server: must be 0.

Usage: .venv/bin/python benchmarks/operator_flow.py [--checks 50] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # _common, also when imported by failover.py

from _common import (  # noqa: E402  (the path above first)
    CHROMIUM,
    CHROMIUM_ARGS,
    SYSTEM_PYTHON,
    free_port,
    headline,
    percentile,
    say,
)
from _common import stop_process as stop  # noqa: E402

VENV = ROOT / ".venv" / "bin"
CAMERAS = 6  # distinct camera streams, so consecutive checks never share a warm reader
LOOK_S = 5.0  # the look counted per check in checks_per_operator_hour
PASSWORD = "nattillsyn-bench-password"


def wait_for_http(url: str, process: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited")
        with contextlib.suppress(urllib.error.URLError, OSError):
            urllib.request.urlopen(url, timeout=1)
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@contextlib.contextmanager
def simulated_cameras(log: Any) -> Iterator[tuple[str, str]]:
    """The cameras as `make run` starts them, but with a 2 s keyframe interval."""
    names = [f"cam{index}:asleep" for index in range(1, CAMERAS + 1)]
    command = [SYSTEM_PYTHON, "-m", "simcam", "--rtsp-port", "0", "--api-port", "0", "--size", "1280x720",
               "--fps", "15", "--keyint", "2", "--user", "demo", "--password", "demo", *names]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if select.select([process.stdout], [], [], 0.5)[0]:
                match = re.search(r"simcam ready rtsp=(\d+) api=(\d+)", process.stdout.readline())
                if match:
                    break
            if process.poll() is not None:
                raise RuntimeError("simcam exited")
        else:
            raise RuntimeError("simcam did not start")
        yield f"rtsp://127.0.0.1:{match[1]}", f"http://127.0.0.1:{match[2]}"
    finally:
        stop(process)


def seed(rtsp: str, count: int) -> None:
    """One municipality, one operator, ``count`` persons whose checks are due now."""
    import pyotp  # noqa: F401  (the operator's authenticator, in the browser loop)

    from accounts.models import Role
    from checks.models import Check
    from nattillsyn import clock
    from nattillsyn.testing import make_municipality, make_person
    from people.personnummer import luhn_valid

    home = make_municipality("Bänkby kommun", "bankby")
    home.tenant.overdue_grace_min = 120  # a long run must not alarm halfway
    home.tenant.save()
    user = home.user(Role.OPERATOR)
    user.set_password(PASSWORD)
    user.save()
    due = (clock.now() - timedelta(minutes=1)).astimezone(clock.STOCKHOLM).time().replace(second=0, microsecond=0)
    serial, made = 1000, 0
    while made < count:
        serial += 1
        digits = f"400101{serial:04d}"
        if not luhn_valid(digits):
            continue
        # Round robin over the cameras: the next checks are always other cameras.
        make_person(home, f"Person {made:03d}", personnummer="19" + digits, times=[due],
                    camera_url=f"{rtsp}/cam{made % CAMERAS + 1}")  # fmt: skip
        made += 1
    assert Check.objects.count() == 0  # the worker plans them, as it does every night


class System:
    """web (gunicorn), worker and gateway as the Procfile starts them."""

    def __init__(self, env: dict[str, str], web_port: int, gateway_port: int, log: Any) -> None:
        self.env, self.log = env, log
        self.web_url, self.gateway_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{gateway_port}"
        self.web = self._start([str(VENV / "gunicorn"), "nattillsyn.wsgi", "--bind", f"127.0.0.1:{web_port}",
                                "--workers", "2", "--threads", "4"])  # fmt: skip
        self.gateway = self._start([str(VENV / "python"), "-m", "gateway"])
        self.worker = self.start_worker(prepare_ahead=4)
        wait_for_http(f"{self.web_url}/login/", self.web)
        wait_for_http(f"{self.gateway_url}/health", self.gateway)

    def _start(self, command: list[str], **extra: str) -> subprocess.Popen[Any]:
        env = {**self.env, **extra}
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=self.log, start_new_session=True)

    def start_worker(self, *, prepare_ahead: int) -> subprocess.Popen[Any]:
        return self._start(
            [str(VENV / "python"), "manage.py", "run_worker"], NATTILLSYN_PREPARE_AHEAD=str(prepare_ahead)
        )

    def restart_worker(self, *, prepare_ahead: int) -> None:
        stop(self.worker)
        self.worker = self.start_worker(prepare_ahead=prepare_ahead)

    def stop(self) -> None:
        for process in (self.worker, self.gateway, self.web):
            stop(process)


def login(page: Any, url: str, username: str) -> None:
    import pyotp

    from nattillsyn.testing import TEST_TOTP_SECRET

    page.goto(url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/mfa/**")
    page.fill("input[name=code]", pyotp.TOTP(TEST_TOTP_SECRET).now())
    page.click("[data-testid=verify-code]")
    page.wait_for_url("**/console/**")


def one_check(page: Any, *, look_s: float) -> dict[str, float]:
    """One check from the console, as the operator does it: a click and a key."""
    button = page.locator("button[data-testid=open-check]").first
    button.wait_for(timeout=30_000)
    clicked_ms = page.evaluate("Date.now()")
    button.click()  # click 1
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]", timeout=20_000)
    first_frame_ms = float(page.get_attribute("#live", "data-first-frame-at") or "nan")
    # Where the time went: the page's own navigation timing and the live view's marks.
    marks = page.evaluate(
        """() => { const n = performance.getEntriesByType("navigation")[0];
                   const live = document.getElementById("live");
                   return {start: performance.timeOrigin, response: performance.timeOrigin + n.responseEnd,
                           ready: performance.timeOrigin + n.domContentLoadedEventEnd,
                           offer: Number(live.dataset.offerSentAt), answer: Number(live.dataset.answerAt),
                           script: Number(live.dataset.startAt), gather: Number(live.dataset.gatherAt)}; }"""
    )
    page.wait_for_selector("button[data-testid=outcome-seen_ok]:not([disabled])", timeout=20_000)
    time.sleep(max(0.0, look_s - (page.evaluate("Date.now()") - first_frame_ms) / 1000))
    pressed_ms = page.evaluate("Date.now()")
    page.keyboard.press("Enter")  # key 2: seen, OK
    page.wait_for_url("**/console/")
    page.locator("[data-testid=message]").first.wait_for()
    # The next check is ready: its button is there (and focused, for the next Enter).
    with contextlib.suppress(Exception):
        page.locator("button[data-testid=open-check]").first.wait_for(timeout=10_000)
    ready_ms = page.evaluate("Date.now()")
    return {
        "first_frame_s": (first_frame_ms - clicked_ms) / 1000,
        "after_outcome_s": (ready_ms - pressed_ms) / 1000,
        "page_s": (marks["response"] - clicked_ms) / 1000,  # the open POST, its redirect and the page
        "offer_s": (marks["offer"] - marks["response"]) / 1000,  # scripts, offer, candidates
        "script_s": (marks["script"] - marks["response"]) / 1000,  # the page parsed, its scripts run
        "ice_s": (marks["offer"] - marks["gather"]) / 1000,  # waiting for the browser's candidates
        "answer_s": (marks["answer"] - marks["offer"]) / 1000,  # the gateway: redeem, answer
        "frame_s": (first_frame_ms - marks["answer"]) / 1000,  # DTLS, the cached keyframe, decode, paint
    }


def seen_without_picture(page: Any) -> None:
    """Open a check and post "seen" at once, before any frame, with the button forced on."""
    page.locator("button[data-testid=open-check]").first.click()
    page.wait_for_url("**/console/attempts/*/")
    page.evaluate(
        """() => { const b = document.querySelector("[data-testid=outcome-seen_ok]");
                   b.disabled = false; b.form.requestSubmit(b); }"""
    )
    page.wait_for_load_state()
    # Refused: back on the check page with the message; then record "no picture" so
    # the run goes on (the check escalates, as a fault would).
    page.locator("[data-testid=message]").first.wait_for()
    page.keyboard.press("f")
    page.wait_for_url("**/console/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=50, help="checks measured with readying on")
    parser.add_argument("--reference", type=int, default=10, help="checks measured with readying off")
    parser.add_argument("--forced", type=int, default=5, help='checks where "seen" is forced before a frame')
    parser.add_argument("--quick", action="store_true", help="20 checks, 6 reference, 3 forced")
    args = parser.parse_args()
    if args.quick:
        args.checks, args.reference, args.forced = 20, 6, 3
    total = args.checks + args.reference + args.forced + 2

    workdir = Path(tempfile.mkdtemp(prefix="operator-flow-"))
    log_path = workdir / "processes.log"
    web_port, gateway_port = free_port(), free_port()
    with open(log_path, "w") as log, simulated_cameras(log) as (rtsp, simcam_api):
        env = {
            **os.environ,
            "DB": "sqlite",
            "SQLITE_PATH": str(workdir / "nattillsyn.sqlite3"),
            "NATTILLSYN_DEMO": "true",
            "SIMCAM_API_URL": simcam_api,
            "NATTILLSYN_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
            "NATTILLSYN_CONTROL_URL": f"http://127.0.0.1:{web_port}",
            "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
            "GATEWAY_ALLOWED_ORIGINS": f"http://127.0.0.1:{web_port}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nattillsyn.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        say(f"seeding {total} persons over {CAMERAS} cameras")
        seed(rtsp, total)
        system = System(env, web_port, gateway_port, log)
        try:
            results = drive(system, args)
        finally:
            system.stop()
    report(results, args)
    say(f"process logs: {log_path}")


def drive(system: System, args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        page = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 720}).new_page()
        page.set_default_timeout(30_000)
        login(page, system.web_url, "bankby-operator")
        page.goto(system.web_url + "/console/")

        say(f"reference: {args.reference} checks with readying off")
        system.restart_worker(prepare_ahead=0)
        time.sleep(3)
        reference = [one_check(page, look_s=2.2) for _ in range(args.reference)]

        say(f'"seen" forced before a frame, {args.forced} times')
        for _ in range(args.forced):
            seen_without_picture(page)

        say(f"measured: {args.checks} checks with readying on")
        system.restart_worker(prepare_ahead=4)
        page.goto(system.web_url + "/console/")
        time.sleep(6)  # the first due cameras are readied (and a keyframe arrives)
        measured: list[dict[str, float]] = []
        failed = 0
        while len(measured) < args.checks and failed < args.checks:
            try:
                measured.append(one_check(page, look_s=2.2))
            except PlaywrightTimeout:
                # No picture (a camera lost, a view that did not start): what the operator
                # does then, "no picture", and on with the next check; counted, not hidden.
                failed += 1
                say(f"  a view did not start ({failed} so far): recorded as no picture")
                with contextlib.suppress(Exception):
                    page.keyboard.press("f")
                    page.wait_for_url("**/console/")
                page.goto(system.web_url + "/console/")
                continue
            index = len(measured) - 1
            if (index + 1) % 10 == 0:
                say(f"  {index + 1} checks, first frame p50 so far "
                    f"{statistics.median(m['first_frame_s'] for m in measured):.3f} s")  # fmt: skip
        browser.close()
    return {"reference": reference, "measured": measured, "failed": failed}


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    from django.db.models import F

    from audit.models import AuditAction, AuditEntry
    from checks.models import Attempt, Outcome

    measured, reference = results["measured"], results["reference"]
    first = [m["first_frame_s"] for m in measured]
    waits = [m["first_frame_s"] + m["after_outcome_s"] for m in measured]
    seen_before_picture = (
        Attempt.objects.filter(outcome=Outcome.SEEN_OK).filter(grant__first_frame_at__isnull=True).count()
        + Attempt.objects.filter(
            outcome=Outcome.SEEN_OK, outcome_at__lt=F("grant__first_frame_at") + timedelta(seconds=2)
        ).count()
    )
    refused = AuditEntry.objects.filter(action=AuditAction.OUTCOME_REFUSED).count()
    with open("/proc/loadavg") as handle:
        load = " ".join(handle.read().split()[:3])
    headline("flow.checks_measured", len(measured))
    headline("flow.views_not_started", results["failed"])
    headline("flow.first_frame_p50_s", round(statistics.median(first), 3))
    headline("flow.first_frame_p95_s", round(percentile(first, 0.95), 3))
    headline("flow.first_frame_max_s", round(max(first), 3))
    for part in (
        "page_s",
        "offer_s",
        "script_s",
        "ice_s",
        "answer_s",
        "frame_s",
    ):  # where the median first frame's time goes
        headline(f"flow.first_frame_part_{part}", round(statistics.median(m[part] for m in measured), 3))
    headline("flow.first_frame_p50_s_unprepared", round(statistics.median(m["first_frame_s"] for m in reference), 3))
    headline("flow.first_frame_p95_s_unprepared", round(percentile([m["first_frame_s"] for m in reference], 0.95), 3))
    headline("flow.clicks_per_check", 2)
    headline("flow.operator_wait_p50_s", round(statistics.median(waits), 3))
    headline("flow.checks_per_operator_hour", round(3600 / (statistics.median(waits) + LOOK_S)))
    headline("flow.seen_forced_before_picture", args.forced)
    headline("flow.seen_refused_and_audited", refused)
    headline("flow.seen_without_view_accepted", seen_before_picture)
    headline("flow.machine_load", load)


if __name__ == "__main__":
    main()
