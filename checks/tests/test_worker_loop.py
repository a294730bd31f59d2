"""The worker loop: no sleep while there is a backlog, a lost database is waited out,
one bad row does not hold back the others, and SIGTERM stops it cleanly."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time as wallclock
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time

import pytest
from django.core.management import call_command
from django.db import OperationalError

from audit.models import AuditAction, AuditEntry
from checks import actions, engine
from checks.engine import NightWorker, TickReport
from checks.management.commands.run_worker import WorkerLoop
from checks.models import Check, CheckState, WorkerHeartbeat
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person


@contextmanager
def logged(name: str) -> Iterator[list[str]]:
    """What ``name`` logs, with tracebacks (the suite may run with pytest's logging plugin off)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(logging.Formatter().format(record))

    handler, logger = Keep(), logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


class ScriptedWorker:
    """Plays back tick results: a TickReport, or an exception to raise."""

    def __init__(self, *script: TickReport | Exception) -> None:
        self.script = list(script)
        self.ticks = 0

    def tick(self, now: object) -> TickReport:
        self.ticks += 1
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def test_it_ticks_again_at_once_while_a_step_has_a_backlog() -> None:
    worker = ScriptedWorker(TickReport(backlog=True), TickReport(backlog=True), TickReport())
    loop = WorkerLoop(worker, interval=2.0)
    assert [loop.run_once() for _ in range(3)] == [0, 0, 2.0]


def test_a_full_batch_is_a_backlog(home: Municipality, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BATCH", 2)
    make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(22, 0), time(22, 10), time(22, 20)])
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 30))
    worker = NightWorker("t")
    first = worker.tick(fake_clock())
    assert first.counts["due"] == 2 and first.backlog
    second = worker.tick(fake_clock())
    assert second.counts["due"] == 1 and not second.backlog


def test_it_backs_off_while_the_database_is_away_and_resets_when_it_is_back() -> None:
    down = OperationalError("connection refused")
    worker = ScriptedWorker(down, down, down, down, down, down, TickReport(), TickReport())
    loop = WorkerLoop(worker, interval=2.0, max_backoff=20.0)
    assert [loop.run_once() for _ in range(6)] == [2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    assert loop.run_once() == 2.0 and loop.database_failures == 0
    assert loop.run_once() == 2.0


def test_any_other_error_is_logged_and_the_loop_goes_on() -> None:
    worker = ScriptedWorker(RuntimeError("bug"), TickReport())
    loop = WorkerLoop(worker, interval=2.0)
    with logged("checks.worker") as lines:
        assert loop.run_once() == 2.0
        assert loop.run_once() == 2.0
    assert "tick failed" in lines[0] and "RuntimeError: bug" in lines[0]


def test_one_failing_check_does_not_hold_back_the_others(
    home: Municipality, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = make_person(home, "Bad", personnummer=TEST_PERSONNUMMER[0], times=[time(22, 0)])
    good = make_person(home, "Good", personnummer=TEST_PERSONNUMMER[1], times=[time(22, 0)])
    real_make_due = actions.make_due

    def make_due(check: Check, now: object) -> None:
        real_make_due(check, now)  # type: ignore[arg-type]
        if check.person_id == bad.id:
            raise ValueError("bad data")

    monkeypatch.setattr(actions, "make_due", make_due)
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 0))
    with logged("checks.engine") as lines:
        report = NightWorker("t").tick(fake_clock())
    assert report.counts["due"] == 1 and report.failed == 1 and not report.backlog
    assert Check.objects.get(person=good, night="2026-11-23").state == CheckState.DUE
    # The bad row's half-done change was rolled back with its savepoint: still planned, no audit entry.
    bad_check = Check.objects.get(person=bad, night="2026-11-23")
    assert bad_check.state == CheckState.PLANNED
    assert not AuditEntry.objects.filter(action=AuditAction.CHECK_DUE, object_id=str(bad_check.id)).exists()
    assert f"Check {bad_check.id}: make_due failed" in lines[0] and "ValueError: bad data" in lines[0]
    assert WorkerHeartbeat.objects.filter(name="t").exists()
    monkeypatch.setattr(actions, "make_due", real_make_due)
    assert NightWorker("t").tick(fake_clock()).counts["due"] == 1  # fixed: handled on the next tick


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_the_worker_between_ticks_without_waiting_out_the_interval(home: Municipality) -> None:
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    started = wallclock.monotonic()
    timer.start()
    try:
        call_command("run_worker", interval=60, prober="none", lease_timeout=0, name="sigterm")
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert wallclock.monotonic() - started < 10
    assert WorkerHeartbeat.objects.filter(name="sigterm").exists()
