"""Several workers on one PostgreSQL database: no check is handled twice, none is dropped.

Each worker runs in its own thread with its own database connection, as separate
worker processes would. SQLite has no row locks (and the embedded setup runs one
worker), so these tests run on PostgreSQL only.
"""

from __future__ import annotations

import threading
import time as wallclock
from collections import Counter
from datetime import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction

from audit.models import AuditAction, AuditEntry
from audit.records import verify_chain
from checks import engine
from checks.engine import NightWorker
from checks.management.commands.run_worker import WorkerLoop
from checks.models import Check, CheckState, Escalation, WorkerHeartbeat
from nattillsyn.clock import FakeClock
from nattillsyn.testing import Municipality, at_stockholm, make_person
from people.personnummer import luhn_valid

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql", reason="row locks"),
]

TIMES = [time(22, 15), time(22, 30), time(23, 0)]


def personnummer(count: int) -> list[str]:
    found, serial = [], 2000
    while len(found) < count:
        serial += 1
        if luhn_valid(digits := f"400101{serial:04d}"):
            found.append("19" + digits)
    return found


def tick_together(workers: int, max_ticks: int = 50) -> list[Counter[str]]:
    """Start ``workers`` NightWorkers at the same instant, each in its own thread with its
    own connection, each ticking until it finds no backlog; returns what each did."""
    from nattillsyn import clock

    barrier = threading.Barrier(workers)
    done: list[Counter[str]] = [Counter() for _ in range(workers)]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            worker = NightWorker(f"worker-{index}")
            barrier.wait()
            for _ in range(max_ticks):
                report = worker.tick(clock.now())
                done[index].update(report.counts)
                if not report.backlog:
                    break
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return done


@pytest.fixture
def forty_persons(home: Municipality, fake_clock: FakeClock) -> list[int]:
    return [make_person(home, f"P{i}", personnummer=n, times=TIMES).id for i, n in enumerate(personnummer(40))]


def test_two_workers_ticking_at_once_handle_each_due_check_exactly_once(
    home: Municipality, fake_clock: FakeClock, forty_persons: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches, so the two workers meet on every step many times over.
    monkeypatch.setattr(engine, "BATCH", 7)
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    done = tick_together(2)
    assert NightWorker("after").tick(fake_clock()).counts.get("due", 0) == 0  # nothing was left behind

    tonight = Check.objects.filter(night="2026-11-23")
    assert tonight.count() == 120
    assert set(tonight.values_list("state", flat=True)) == {CheckState.DUE}
    due_entries = Counter(AuditEntry.objects.filter(action=AuditAction.CHECK_DUE).values_list("object_id", flat=True))
    assert sorted(due_entries) == sorted(str(pk) for pk in tonight.values_list("id", flat=True))
    assert set(due_entries.values()) == {1}
    assert done[0]["due"] + done[1]["due"] == 120
    # The night was planned by one of them: one CHECKS_PLANNED entry per night, counting every check.
    planned = AuditEntry.objects.filter(action=AuditAction.CHECKS_PLANNED)
    assert sorted(entry.detail["night"] for entry in planned) == ["2026-11-23", "2026-11-24"]
    assert sum(entry.detail["checks"] for entry in planned) == Check.objects.count()

    # Nobody opens them: at 00:30 every window has closed, and each check escalates once.
    fake_clock.set(at_stockholm(2026, 11, 24, 0, 30))
    tick_together(3)
    assert set(tonight.values_list("state", flat=True)) == {CheckState.ESCALATED}
    per_check = Counter(Escalation.objects.values_list("night_check_id", flat=True))
    assert len(per_check) == 120 and set(per_check.values()) == {1}
    escalated = Counter(entry.detail["check"] for entry in AuditEntry.objects.filter(action=AuditAction.ESCALATED))
    assert len(escalated) == 120 and set(escalated.values()) == {1}
    # Concurrent writers kept the audit chain one unbroken line. (Only the linkage is
    # asked: entries stamped by this Stockholm-time fake clock read back in UTC, which
    # their digest does not allow for; real clocks give UTC.)
    assert [problem for problem in verify_chain()[1] if "does not follow" in problem or "head" in problem] == []
    assert WorkerHeartbeat.objects.count() == 4


def test_a_worker_killed_mid_batch_leaves_its_claim_to_the_others(
    home: Municipality, fake_clock: FakeClock, forty_persons: list[int]
) -> None:
    """The row lock is the lease: when the claiming transaction dies with its connection
    (kill -9, lost network), PostgreSQL rolls it back and the rows are free again."""
    NightWorker("planner").tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 15))
    claimed = threading.Event()
    backend: list[int] = []

    def doomed_worker() -> None:
        try:
            with transaction.atomic():
                backend.append(connection.cursor().connection.info.backend_pid)
                rows = list(
                    Check.objects.filter(state=CheckState.PLANNED, scheduled_at__lte=fake_clock())
                    .select_for_update(skip_locked=True)
                    .order_by("scheduled_at")[:25]
                )
                assert len(rows) == 25
                claimed.set()
                connection.cursor().execute("SELECT pg_sleep(30)")  # "killed" during this
        except Exception:
            pass  # the connection was terminated: this worker is dead
        finally:
            connection.close()

    thread = threading.Thread(target=doomed_worker)
    thread.start()
    assert claimed.wait(30)
    survivor = NightWorker("survivor")
    assert survivor.tick(fake_clock()).counts["due"] == 40 - 25  # the 25 claimed rows are skipped
    with psycopg.connect(**_admin_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", backend)
    thread.join(timeout=30)
    assert survivor.tick(fake_clock()).counts["due"] == 25  # back in the queue, handled once
    due_entries = Counter(AuditEntry.objects.filter(action=AuditAction.CHECK_DUE).values_list("object_id", flat=True))
    assert len(due_entries) == 40 and set(due_entries.values()) == {1}


def test_a_worker_frozen_inside_a_transaction_loses_its_claim_after_the_lease_timeout(
    home: Municipality, fake_clock: FakeClock, forty_persons: list[int]
) -> None:
    """run_worker --lease-timeout: a worker that hangs (SIGSTOP, a stuck call) while
    holding rows does not hold them for ever."""
    NightWorker("planner").tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 15))
    claimed, woke = threading.Event(), threading.Event()
    outcome: list[str] = []

    def frozen_worker() -> None:
        try:
            connection.cursor().execute("SET idle_in_transaction_session_timeout = 500")
            with transaction.atomic():
                rows = list(
                    Check.objects.filter(state=CheckState.PLANNED, scheduled_at__lte=fake_clock())
                    .select_for_update(skip_locked=True)
                    .order_by("scheduled_at")[:25]
                )
                claimed.set()
                woke.wait(30)  # frozen: no statement, the transaction idle
                Check.objects.filter(id__in=[row.id for row in rows]).update(state=CheckState.DUE)
            outcome.append("committed")
        except Exception as exc:
            outcome.append(type(exc).__name__)
        finally:
            connection.close()

    thread = threading.Thread(target=frozen_worker)
    thread.start()
    assert claimed.wait(30)
    wallclock.sleep(1.5)  # longer than the lease
    assert NightWorker("survivor").tick(fake_clock()).counts["due"] == 40
    woke.set()
    thread.join(timeout=30)
    assert outcome and outcome[0] != "committed"  # it woke up without its claim
    due_entries = Counter(AuditEntry.objects.filter(action=AuditAction.CHECK_DUE).values_list("object_id", flat=True))
    assert len(due_entries) == 40 and set(due_entries.values()) == {1}


def test_the_loop_survives_losing_its_database_connection(home: Municipality, fake_clock: FakeClock) -> None:
    """What a PostgreSQL restart does to a worker: its connection dies between ticks."""
    loop = WorkerLoop(NightWorker("loop"), interval=2.0, max_backoff=30.0, now=fake_clock)
    assert loop.run_once() == 2.0
    pid = connection.cursor().connection.info.backend_pid
    with psycopg.connect(**_admin_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert loop.run_once() == 2.0  # failed: waits one interval, then 2×, 4× … while it stays down
    assert loop.database_failures == 1
    fake_clock.advance(seconds=4)
    assert loop.run_once() == 2.0  # a new connection: the tick went through
    assert loop.database_failures == 0
    assert WorkerHeartbeat.objects.get(name="loop").last_seen == fake_clock()


def _admin_params() -> dict[str, object]:
    db = settings.DATABASES["default"]
    return {
        "host": db["HOST"],
        "port": db["PORT"],
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "dbname": "postgres",
    }
