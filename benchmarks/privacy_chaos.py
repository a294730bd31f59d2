"""Privacy under chaos: is any camera ever out of its privacy position with nothing that
covers it, for longer than one reconcile period?

Real parts: PostgreSQL, simulated cameras over the real control API (simcam/), and real
worker processes (``manage.py run_worker``) whose privacy reconciler (cameras/privacy.py)
drives the cameras. This process plays everything else at random:

- grants opening cameras (a covering grant, as an operator's click or a preparation does),
- cameras re-pointed by the installer to another device, often while a grant is open,
- a camera turned out of its privacy position by hand (nothing in the system did it),
- a worker stopped and started, a worker killed with SIGKILL, all workers killed at once.

The simulated cameras start OUT of their privacy position (as after a power cut), the
spare devices in the box in it. A monitor polls every device's position (simcam) and
every covering grant (database) four times a second. A device is *unguarded* while it is
out of privacy and no grant of the camera pointing at it covers it; an unassigned device
is never covered. Each unguarded spell may last one reconcile period (VERIFY_EVERY plus
two worker ticks: the time the reconciler is allowed to notice); what lasts longer is
``privacy.unguarded_camera_seconds``.

    .venv/bin/python benchmarks/privacy_chaos.py --quick     # ~1.5 min, in make bench
    .venv/bin/python benchmarks/privacy_chaos.py             # ~5 min
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import PYTHON, ROOT, django_env, drop_database, headline, machine_load, migrate, recreate_database, say
from _common import setup_django as _setup_django

WORKER_INTERVAL_S = 2.0  # run_worker's default


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run for make bench")
    parser.add_argument("--seconds", type=float, help="chaos time (default 240, quick 70)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


class Simcam:
    def __init__(self, names: list[str], log: Any) -> None:
        self.process = subprocess.Popen(
            [
                "/usr/bin/python3",
                "-m",
                "simcam",
                "--rtsp-port",
                "0",
                "--api-port",
                "0",
                "--size",
                "64x64",
                "--fps",
                "1",
                *[f"{name}:asleep" for name in names],
            ],  # fmt: skip
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"rtsp=(\d+) api=(\d+)", line)
        if match is None:
            raise SystemExit(f"simcam did not start: {line!r}")
        self.rtsp_port, self.api_url = int(match[1]), f"http://127.0.0.1:{match[2]}"

    def positions(self) -> dict[str, bool]:
        with urllib.request.urlopen(f"{self.api_url}/cameras", timeout=2) as response:
            return {camera["name"]: bool(camera["privacy"]) for camera in json.loads(response.read())}

    def set_privacy(self, name: str, privacy: bool) -> None:
        request = urllib.request.Request(
            f"{self.api_url}/cameras/{name}/privacy",
            data=json.dumps({"privacy": privacy}).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=2).close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Workers:
    def __init__(self, count: int, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        for index in range(count):
            self.start(index)

    def start(self, index: int) -> None:
        log = open(self.log_dir / f"worker-{index}.log", "ab")  # noqa: SIM115 - owned by the process
        self.processes[index] = subprocess.Popen(
            [
                PYTHON,
                "manage.py",
                "run_worker",
                "--interval",
                str(WORKER_INTERVAL_S),
                "--prober",
                "none",
                "--name",
                f"privacy-{index}",
                "--lease-timeout",
                "5",
            ],  # fmt: skip
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
        )

    def restart(self, index: int, *, kill: bool) -> None:
        process = self.processes[index]
        if kill:
            process.kill()
        else:
            process.terminate()
        process.wait(timeout=30)
        self.start(index)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


class Monitor(threading.Thread):
    """Polls the devices and the covering grants; sums unguarded time beyond the grace."""

    def __init__(self, simcam: Simcam, grace_s: float) -> None:
        super().__init__(daemon=True)
        self.simcam, self.grace_s = simcam, grace_s
        self.stop_event = threading.Event()
        self.unguarded_s = 0.0
        self.longest_spell_s = 0.0
        self.spells = 0
        self.samples = 0
        self.spell_started: dict[str, float] = {}
        self.all_in_privacy_at: float | None = None

    def run(self) -> None:
        from django.db import connection

        from cameras.actions import covering_grants
        from cameras.models import Camera
        from nattillsyn import clock

        last = time.monotonic()
        while not self.stop_event.wait(0.25):
            positions = self.simcam.positions()  # first the devices, then the database (see below)
            covered = set(covering_grants(clock.now()).values_list("camera_id", flat=True))
            device_of = {
                url.rsplit("/", 1)[-1]: camera_id for camera_id, url in Camera.objects.values_list("id", "stream_url")
            }
            # A grant is committed before its camera moves, and a re-pointed camera's old
            # device is returned before the change commits, so reading the devices first
            # never blames the reconciler for a move the database does not show yet.
            now = time.monotonic()
            elapsed, last = now - last, now
            self.samples += 1
            if self.all_in_privacy_at is None and all(positions.values()):
                self.all_in_privacy_at = now
            for name, in_privacy in positions.items():
                unguarded = not in_privacy and device_of.get(name) not in covered
                if not unguarded:
                    started = self.spell_started.pop(name, None)
                    if started is not None:
                        self.longest_spell_s = max(self.longest_spell_s, now - started)
                    continue
                if name not in self.spell_started:
                    self.spell_started[name] = now
                    self.spells += 1
                beyond = now - self.spell_started[name] - self.grace_s
                if beyond > 0:
                    self.unguarded_s += min(elapsed, beyond)
        for started in self.spell_started.values():
            self.longest_spell_s = max(self.longest_spell_s, time.monotonic() - started)
        connection.close()


def main() -> None:
    args = parse_args()
    seconds = args.seconds or (70.0 if args.quick else 240.0)
    persons, person_less, spares = (3, 1, 2) if args.quick else (5, 5, 4)
    rng = random.Random(args.seed)
    database = f"nattillsyn_privacy_chaos_{os.getpid()}"
    log_dir = Path(tempfile.mkdtemp(prefix="privacy-chaos-"))
    say(f"database {database}, logs in {log_dir}")
    recreate_database(database)
    migrate(database)
    installed = [f"dev{index:02d}" for index in range(persons + person_less + 1)]
    spare = [f"spare{index:02d}" for index in range(spares)]
    simcam = Simcam(installed + spare, open(log_dir / "simcam.log", "ab"))  # noqa: SIM115
    workers: Workers | None = None
    monitor: Monitor | None = None
    try:
        for name in spare:
            simcam.set_privacy(name, True)  # still in the box
        _setup_django(database, SIMCAM_API_URL=simcam.api_url)
        # No gateway runs here: each grant's "prepare" fails at once, which is not the news.
        logging.getLogger("cameras.gateway_client").setLevel(logging.ERROR)
        world = seed(simcam, installed, persons)
        from cameras.privacy import VERIFY_EVERY

        grace_s = VERIFY_EVERY.total_seconds() + 2 * WORKER_INTERVAL_S
        monitor = Monitor(simcam, grace_s)
        monitor.start()
        started = time.monotonic()
        env = django_env(database, SIMCAM_API_URL=simcam.api_url, LOG_LEVEL="WARNING")
        workers = Workers(args.workers, env, log_dir)
        # 1. Start-up: every installed camera starts out of privacy; chaos waits for them.
        while monitor.all_in_privacy_at is None and time.monotonic() - started < 2 * grace_s:
            time.sleep(0.5)
        say("chaos")
        # 2. Chaos.
        events = chaos(rng, seconds, world, simcam, workers, spare)
        time.sleep(grace_s)  # let the last spells end or count
        monitor.stop_event.set()
        monitor.join(timeout=10)
        report(monitor, events, started)
    finally:
        if monitor is not None:
            monitor.stop_event.set()
        if workers is not None:
            workers.stop_all()
        simcam.stop()
        if not args.keep:
            drop_database(database)


def seed(simcam: Simcam, installed: list[str], persons: int) -> dict[str, Any]:
    from accounts.models import Role
    from cameras.actions import save_camera
    from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person

    home = make_municipality("Kaos kommun", "kaos")
    url = f"rtsp://127.0.0.1:{simcam.rtsp_port}/"
    for index in range(persons):
        make_person(home, f"Person {index}", personnummer=TEST_PERSONNUMMER[index], camera_url=url + installed[index])
    for name in installed[persons:]:
        save_camera(
            None,
            actor=home.user(Role.INSTALLER),
            tenant=home.tenant,
            name=name,
            model="Sim",
            driver="simulated",
            stream_url=url + name,
            training_only=name == installed[-1],  # the training camera
        )
    return {"home": home, "url": url}


def chaos(
    rng: random.Random, seconds: float, world: dict[str, Any], simcam: Simcam, workers: Workers, spare: list[str]
) -> dict[str, int]:
    from cameras.actions import issue_grant
    from cameras.models import Camera, GrantPurpose
    from cameras.policy import ViewPermission
    from nattillsyn import clock

    names = ("grants", "repointed", "repointed_with_grant", "moved_by_hand", "restarts", "kills", "kill_all")
    events = dict.fromkeys(names, 0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.5, 2.0))
        cameras = list(Camera.objects.select_related("tenant", "person"))
        camera = rng.choice(cameras)
        device = camera.stream_url.rsplit("/", 1)[-1]
        roll = rng.random()
        if roll < 0.45:
            # A covering grant opens the camera, as an operator's click or a preparation does;
            # a third of them are followed at once by the installer re-pointing the camera.
            issue_grant(
                camera,
                actor=None,
                purpose=GrantPurpose.PREPARE,
                person=camera.person,
                # The chaos stands in for the policy's answer: a preparation of some check.
                permission=ViewPermission(),
                hard_end=clock.now() + timedelta(seconds=rng.uniform(3, 15)),
            )
            events["grants"] += 1
            if roll < 0.15:
                repoint(camera, rng, spare, world)
                events["repointed_with_grant"] += 1
        elif roll < 0.55:
            repoint(camera, rng, spare, world)
            events["repointed"] += 1
        elif roll < 0.75:
            simcam.set_privacy(device, False)  # turned by hand: nothing in the system did it
            events["moved_by_hand"] += 1
        elif roll < 0.85:
            workers.restart(rng.randrange(len(workers.processes)), kill=False)
            events["restarts"] += 1
        elif roll < 0.96:
            workers.restart(rng.randrange(len(workers.processes)), kill=True)
            events["kills"] += 1
        else:
            for process in workers.processes.values():
                process.send_signal(signal.SIGKILL)
            time.sleep(rng.uniform(1, 3))
            for index in list(workers.processes):
                workers.restart(index, kill=True)
            events["kill_all"] += 1
    return events


def repoint(camera: Any, rng: random.Random, spare: list[str], world: dict[str, Any]) -> None:
    """The installer points the camera at a device from the box; the old one goes in it."""
    from accounts.models import Role
    from cameras.actions import save_camera

    home = world["home"]
    old = camera.stream_url.rsplit("/", 1)[-1]
    new = spare.pop(rng.randrange(len(spare)))
    save_camera(camera, actor=home.user(Role.INSTALLER), tenant=home.tenant, stream_url=world["url"] + new)
    spare.append(old)


def report(monitor: Monitor, events: dict[str, int], started: float) -> None:
    from audit.models import AuditAction, AuditEntry
    from cameras.models import Camera, CameraProblem

    converged = None if monitor.all_in_privacy_at is None else monitor.all_in_privacy_at - started
    headline("privacy.cameras", Camera.objects.count())
    headline("privacy.grace_s", round(monitor.grace_s, 1))
    headline("privacy.start_up_converged_s", "never" if converged is None else round(converged, 1))
    for name, count in events.items():
        headline(f"privacy.events.{name}", count)
    headline("privacy.unguarded_spells", monitor.spells)
    headline("privacy.longest_unguarded_spell_s", round(monitor.longest_spell_s, 1))
    headline(
        "privacy.corrections_audited",
        AuditEntry.objects.filter(action=AuditAction.CAMERA_FAULT, detail__restored=True).count(),
    )
    headline(
        "privacy.faults_not_reached",
        AuditEntry.objects.filter(
            action=AuditAction.CAMERA_FAULT, detail__problem=CameraProblem.PRIVACY_NOT_REACHED
        ).count(),
    )
    headline("privacy.monitor_samples", monitor.samples)
    headline("privacy.unguarded_camera_seconds", round(monitor.unguarded_s, 1))
    say(machine_load())


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
