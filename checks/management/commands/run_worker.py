"""The night worker: plans checks, makes them due, fires retries, escalations and alarms.

Run one per host (several are safe on PostgreSQL). Stops cleanly on SIGTERM.
"""

from __future__ import annotations

import signal
import socket
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from cameras.health import probe_camera
from checks.engine import NightWorker
from nattillsyn import clock


class Command(BaseCommand):
    help = "Run the night worker loop."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="run one tick and exit")
        parser.add_argument("--name", default=f"{socket.gethostname()}-{id(self)}")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, self.on_stop)
        signal.signal(signal.SIGINT, self.on_stop)
        worker = NightWorker(options["name"], camera_prober=probe_camera)
        self.stdout.write(f"worker {worker.name} started")
        while not self.stopping:
            close_old_connections()
            try:
                report = worker.tick(clock.now())
                if report.counts:
                    self.stdout.write(f"tick: {report.counts}")
            except Exception as exc:  # a bad tick must not stop the night
                self.stderr.write(f"tick failed: {exc!r}")
            if options["once"]:
                break
            time.sleep(options["interval"])
        self.stdout.write("worker stopped")

    def on_stop(self, signum: int, frame: Any) -> None:
        self.stopping = True
