"""The night worker: plans checks, makes them due, fires retries, escalations and alarms.

Run one per host (several are safe on PostgreSQL, see docs/RELIABILITY.md). The loop
1. ticks again at once while a step took a full batch (a backlog), otherwise sleeps
   ``--interval``;
2. rides out a lost database (PostgreSQL restarting, network): it logs, closes the
   connection, waits with a growing back-off and carries on, so the watchdog is the
   only thing that notices, after two minutes of silence;
3. stops cleanly on SIGTERM/SIGINT: the tick in hand commits or rolls back whole,
   and the sleep is cut short.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.db.backends.signals import connection_created
from django.utils.module_loading import import_string
from prometheus_client import CollectorRegistry, Counter, Histogram

from checks.engine import NightWorker, TickReport
from nattillsyn import clock
from nattillsyn.metrics_http import serve_metrics

log = logging.getLogger("checks.worker")

DEFAULT_PROBER = "cameras.health.probe_camera"
DEFAULT_PRIVACY_DRIVER = "cameras.drivers.driver_for"


class WorkerMetrics:
    """This worker process's own figures (the night's state is on the web's /metrics)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.tick_seconds = Histogram(
            "nattillsyn_worker_tick_seconds",
            "Time one tick of the night worker took.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.items = Counter(
            "nattillsyn_worker_items", "What the ticks did, by step.", ["step"], registry=self.registry
        )
        self.failures = Counter(
            "nattillsyn_worker_tick_failures",
            "Ticks that failed, by cause (database unavailable or an error).",
            ["cause"],
            registry=self.registry,
        )


class WorkerLoop:
    """The loop around ``NightWorker.tick``; tests drive it with fakes for the worker,
    the stop event and the clock."""

    def __init__(
        self,
        worker: Any,
        *,
        interval: float,
        max_backoff: float = 30.0,
        stop: threading.Event | None = None,
        now: Callable[[], datetime] = clock.now,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.worker = worker
        self.metrics = metrics or WorkerMetrics()
        self.interval = interval
        self.max_backoff = max_backoff
        self.stop = stop or threading.Event()
        self.now = now
        self.database_failures = 0

    def run(self, *, once: bool = False) -> None:
        while not self.stop.is_set():
            wait = self.run_once()
            if once:
                break
            if wait:
                self.stop.wait(wait)

    def run_once(self) -> float:
        """One tick; returns how long to wait before the next (0 with a backlog)."""
        close_old_connections()
        started = time.monotonic()
        try:
            report: TickReport = self.worker.tick(self.now())
        except (OperationalError, InterfaceError) as exc:
            self.metrics.failures.labels("database").inc()
            # PostgreSQL restarting or unreachable: the tick's transaction is gone with the
            # connection, so every claimed row is back in the queue. Drop the connection
            # (the next query opens a new one) and back off: 1×, 2×, 4× … the interval.
            self.database_failures += 1
            delay = min(self.max_backoff, self.interval * 2 ** (self.database_failures - 1))
            log.warning("database unavailable (%s); next try in %.1f s", str(exc).strip()[:200], delay)
            _close_connection()
            return delay
        except Exception:  # a bad tick must not stop the night; the traceback goes to the log
            self.metrics.failures.labels("error").inc()
            log.exception("tick failed")
            _close_connection()
            return self.interval
        self.metrics.tick_seconds.observe(time.monotonic() - started)
        for step, count in report.counts.items():
            self.metrics.items.labels(step).inc(count)
        if self.database_failures:
            log.info("database back after %d failed ticks", self.database_failures)
            self.database_failures = 0
        if report.counts or report.failed:
            log.info("tick: %s%s", report.counts, f" ({report.failed} failed)" if report.failed else "")
        return 0 if report.backlog else self.interval


def _close_connection() -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may raise; it is closed either way
        connection.close()


class SharedClock:
    """Simulated time shared by processes, for the chaos benchmark: ``now`` is
    ``start + (real now − anchor) × speed``, read from a small JSON file
    (``{"start": ISO, "anchor": epoch seconds, "speed": float}``) and read again when
    the file changes, so the benchmark can jump the night forward."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.mtime = -1.0
        self.start = datetime.now().astimezone()
        self.anchor = 0.0
        self.speed = 1.0

    def __call__(self) -> datetime:
        mtime = os.stat(self.path).st_mtime
        if mtime != self.mtime:
            with open(self.path) as handle:
                data = json.load(handle)
            self.start = datetime.fromisoformat(data["start"])
            self.anchor, self.speed, self.mtime = float(data["anchor"]), float(data["speed"]), mtime
        return self.start + timedelta(seconds=(time.time() - self.anchor) * self.speed)


class Command(BaseCommand):
    help = "Run the night worker loop."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="run one tick and exit")
        parser.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}")
        parser.add_argument("--max-backoff", type=float, default=30.0, help="longest wait for the database")
        parser.add_argument(
            "--lease-timeout",
            type=int,
            default=60,
            help="seconds a transaction may sit idle before PostgreSQL ends it and frees its claims (0: off)",
        )
        parser.add_argument(
            "--prober",
            default=DEFAULT_PROBER,
            help=f"dotted path of the camera health probe, or 'none' (default {DEFAULT_PROBER})",
        )
        parser.add_argument(
            "--privacy-driver",
            default=DEFAULT_PRIVACY_DRIVER,
            help=f"camera drivers of the privacy reconciler, or 'none' (default {DEFAULT_PRIVACY_DRIVER})",
        )
        parser.add_argument("--clock-file", help="simulated shared clock (benchmarks only), see SharedClock")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_stop(signum: int, frame: Any) -> None:
            log.info("signal %d: stopping after this tick", signum)
            stop.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        if options["lease_timeout"]:
            _limit_idle_transactions(options["lease_timeout"])
        if options["clock_file"]:
            clock.set_now_provider(SharedClock(options["clock_file"]))
        prober = None if options["prober"] == "none" else import_string(options["prober"])
        privacy_driver = None if options["privacy_driver"] == "none" else import_string(options["privacy_driver"])
        worker = NightWorker(options["name"], camera_prober=prober, privacy_driver=privacy_driver)
        metrics = WorkerMetrics()
        if settings.WORKER_METRICS_BIND and settings.METRICS_TOKEN:
            serve_metrics(settings.WORKER_METRICS_BIND, settings.METRICS_TOKEN, metrics.registry)
        log.info("worker %s started", worker.name)
        WorkerLoop(
            worker, interval=options["interval"], max_backoff=options["max_backoff"], stop=stop, metrics=metrics
        ).run(once=options["once"])
        _close_connection()
        log.info("worker %s stopped", worker.name)


def _limit_idle_transactions(seconds: int) -> None:
    """Give the row-lock lease an end: a worker that hangs inside a transaction (frozen
    process, stuck network) loses it after ``seconds`` and its rows return to the
    queue. Ticks only ever wait on the database inside a transaction, never on a
    camera or the gateway, so a healthy worker is never idle that long."""

    def on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET idle_in_transaction_session_timeout = {int(seconds) * 1000}")

    connection_created.connect(on_connect, weak=False)
