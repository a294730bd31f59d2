"""A camera gateway killed (kill -9) during a night of checks, measured through the product.

The product's processes as `make run` starts them, but two gateways for one site (gw1 the
primary, gw2 its standby, listed as the administrator lists them: ``cameras.Gateway``):
gunicorn web, the worker, both gateways, simulated cameras (a keyframe every 2 s, none on
request), on SQLite (``--postgres``: a fresh PostgreSQL database), on loopback. Debian's
Chromium, driven by Playwright, logs in and works through the real console with its keys.

Each round: two ordinary checks (through gw1), then a third whose view is live when gw1
is killed with SIGKILL. The page says the camera server was lost; the operator presses
O at once ("open again"), the control plane asks gw1, gets no answer, and the new view
goes through gw2; the operator records "seen". gw1 is then started again, heartbeats,
and takes the site's new views back. After the rounds the operator works through the
rest of the night's due checks.

Printed (``name: value``):
- ``failover.checks_due`` / ``failover.checks_lost``: checks made due tonight, and those
  not done at the end (no outcome): must be 0;
- ``failover.reopen_s`` (median) / ``failover.reopen_max_s``: kill → the first frame
  painted in the reopened view (the page's requestVideoFrameCallback), the operator
  pressing O as soon as the page offers it;
- ``failover.lost_noticed_s``: kill → the page telling the operator (median);
- ``failover.views_on_dead_gateway``: grants issued to gw1 between a kill and its restart
  (the page's report is checked by the control plane): must be 0;
- ``failover.via_standby``: check views served by gw2.

Usage: .venv/bin/python benchmarks/failover.py [--rounds 3] [--postgres] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.operator_flow import (  # noqa: E402  (the path above first)
    CHROMIUM,
    CHROMIUM_ARGS,
    VENV,
    free_port,
    headline,
    login,
    one_check,
    say,
    seed,
    simulated_cameras,
    stop,
    wait_for_http,
)

SITE = "nord"
EXTRA_CHECKS = 3  # done after the rounds, through whichever gateway is alive


class Processes:
    """web (gunicorn), the worker and the two gateways, each its own process."""

    def __init__(self, env: dict[str, str], web_port: int, gateway_ports: dict[str, int], log: Any) -> None:
        self.env, self.log, self.gateway_ports = env, log, gateway_ports
        self.web_url = f"http://127.0.0.1:{web_port}"
        self.web = self._start([str(VENV / "gunicorn"), "nattillsyn.wsgi", "--bind", f"127.0.0.1:{web_port}",
                                "--workers", "2", "--threads", "4"])  # fmt: skip
        self.worker = self._start([str(VENV / "python"), "manage.py", "run_worker"], NATTILLSYN_PREPARE_AHEAD="4")
        self.gateways = {name: self.start_gateway(name) for name in gateway_ports}
        wait_for_http(f"{self.web_url}/login/", self.web)

    def _start(self, command: list[str], **extra: str) -> subprocess.Popen[Any]:
        env = {**self.env, **extra}
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=self.log, start_new_session=True)

    def start_gateway(self, name: str) -> subprocess.Popen[Any]:
        port = self.gateway_ports[name]
        process = self._start(
            [str(VENV / "python"), "-m", "gateway"], GATEWAY_ID=name, GATEWAY_BIND=f"127.0.0.1:{port}"
        )
        wait_for_http(f"http://127.0.0.1:{port}/health", process)
        return process

    def kill_gateway(self, name: str) -> None:
        """kill -9 of the gateway process alone: no goodbye to the browser or the control plane."""
        process = self.gateways[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for process in (self.worker, *self.gateways.values(), self.web):
            stop(process)


def wait_alive(name: str, timeout_s: float = 10) -> None:
    from cameras.gateways import is_alive
    from cameras.models import Gateway
    from nattillsyn import clock

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_alive(Gateway.objects.get(gateway_id=name), clock.now()):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} sends no heartbeat")


def newest_check_grant() -> Any:
    from cameras.models import GrantPurpose, ViewGrant

    return ViewGrant.objects.filter(purpose=GrantPurpose.CHECK).latest("id")


def killed_during_a_view(page: Any, processes: Processes) -> dict[str, float]:
    """Open a check, kill its gateway while the picture plays, reopen at once, record "seen"."""
    page.locator("button[data-testid=open-check]").first.click()
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]", timeout=20_000)
    serving = newest_check_grant().gateway
    assert serving == "gw1", f"the view went to {serving}, not the site's primary"
    killed_ms = page.evaluate("Date.now()")
    processes.kill_gateway("gw1")
    killed_at = time.time()
    page.wait_for_selector("#live[data-state=ended]", timeout=20_000)
    noticed_ms = float(page.get_attribute("#live", "data-gateway-lost-at") or "nan")
    page.wait_for_selector("[data-testid=reopen]:not([disabled])")
    page.keyboard.press("o")  # at once
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]", timeout=20_000)
    first_frame_ms = float(page.get_attribute("#live", "data-first-frame-at") or "nan")
    assert newest_check_grant().gateway == "gw2"
    page.wait_for_selector("button[data-testid=outcome-seen_ok]:not([disabled])", timeout=20_000)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")
    return {"reopen_s": (first_frame_ms - killed_ms) / 1000, "noticed_s": (noticed_ms - killed_ms) / 1000,
            "killed_at": killed_at}  # fmt: skip


def drive(processes: Processes, args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from cameras.models import GrantPurpose, ViewGrant

    rounds: list[dict[str, float]] = []
    on_dead = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        page = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 720}).new_page()
        page.set_default_timeout(30_000)
        login(page, processes.web_url, "bankby-operator")
        page.goto(processes.web_url + "/console/")
        time.sleep(4)  # the first due cameras are readied
        for index in range(args.rounds):
            wait_alive("gw1")
            for _ in range(2):
                one_check(page, look_s=2.2)
            measured = killed_during_a_view(page, processes)
            say(f"round {index + 1}: reopened {measured['reopen_s']:.2f} s after the kill "
                f"(told after {measured['noticed_s']:.2f} s)")  # fmt: skip
            one_check(page, look_s=2.2)  # the next due check, while gw1 is down
            last_grant = ViewGrant.objects.latest("id").id
            processes.gateways["gw1"] = processes.start_gateway("gw1")
            on_dead += ViewGrant.objects.filter(
                purpose=GrantPurpose.CHECK,
                gateway="gw1",
                id__lte=last_grant,
                issued_at__gt=_aware(measured["killed_at"]),
            ).count()
            rounds.append(measured)
        wait_alive("gw1")
        page.goto(processes.web_url + "/console/")
        while page.locator("button[data-testid=open-check]").count():
            one_check(page, look_s=2.2)
        browser.close()
    via_standby = ViewGrant.objects.filter(purpose=GrantPurpose.CHECK, gateway="gw2").count()
    return {"rounds": rounds, "on_dead": on_dead, "via_standby": via_standby}


def _aware(unix_s: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix_s, UTC)


def list_gateways(ports: dict[str, int]) -> None:
    from cameras.models import Camera, Gateway

    Camera.objects.update(site=SITE)
    for name, port in ports.items():
        Gateway.objects.create(gateway_id=name, site=SITE, public_url=f"http://127.0.0.1:{port}", standby=name == "gw2")


@contextlib.contextmanager
def database(args: argparse.Namespace, workdir: Path) -> Any:
    if not args.postgres:
        yield {"DB": "sqlite", "SQLITE_PATH": str(workdir / "nattillsyn.sqlite3")}
        return
    name = f"nattillsyn_failover_{os.getpid()}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    try:
        yield {"DB": "postgres", "PGHOST": "127.0.0.1", "PGUSER": "postgres", "PGDATABASE": name}
    finally:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="kills of the serving gateway")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database instead of SQLite")
    parser.add_argument("--quick", action="store_true", help="one round (~1 min)")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    total = args.rounds * 4 + EXTRA_CHECKS

    workdir = Path(tempfile.mkdtemp(prefix="failover-"))
    log_path = workdir / "processes.log"
    web_port = free_port()
    gateway_ports = {"gw1": free_port(), "gw2": free_port()}
    with open(log_path, "w") as log, simulated_cameras(log) as (rtsp, simcam_api), database(args, workdir) as db:
        env = {
            **os.environ,
            **db,
            "NATTILLSYN_DEMO": "true",
            "SIMCAM_API_URL": simcam_api,
            "NATTILLSYN_CONTROL_URL": f"http://127.0.0.1:{web_port}",
            "GATEWAY_ALLOWED_ORIGINS": f"http://127.0.0.1:{web_port}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        # Playwright's sync API keeps an event loop in this thread; the ORM reads between
        # browser steps are still plain synchronous calls (as in e2e/conftest.py).
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nattillsyn.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        say(f"seeding {total} persons; gateways gw1 (primary) and gw2 (standby) for site {SITE}")
        seed(rtsp, total)
        list_gateways(gateway_ports)
        processes = Processes(env, web_port, gateway_ports, log)
        try:
            results = drive(processes, args)
        finally:
            processes.stop()
        report(results)
    say(f"process logs: {log_path}")


def report(results: dict[str, Any]) -> None:
    from checks.models import Check, CheckState

    due = Check.objects.filter(due_at__isnull=False)
    rounds = results["rounds"]
    headline("failover.kills", len(rounds))
    headline("failover.checks_due", due.count())
    headline("failover.checks_lost", due.exclude(state=CheckState.DONE).count())
    headline("failover.reopen_s", round(statistics.median(r["reopen_s"] for r in rounds), 2))
    headline("failover.reopen_max_s", round(max(r["reopen_s"] for r in rounds), 2))
    headline("failover.lost_noticed_s", round(statistics.median(r["noticed_s"] for r in rounds), 2))
    headline("failover.views_on_dead_gateway", results["on_dead"])
    headline("failover.via_standby", results["via_standby"])
    headline("failover.level", "chromium on the real console (gunicorn, worker, two gateways, simulated RTSP cameras)")
    with open("/proc/loadavg") as handle:
        headline("failover.machine_load", " ".join(handle.read().split()[:3]))


if __name__ == "__main__":
    main()
