"""Planning a night and a worker tick for 100,000 persons on PostgreSQL (docs/RELIABILITY.md).

Builds a database of its own (default ``bench_scale``), migrates it, and makes one
municipality of ``--persons`` persons with a decision, consent, tested camera and three
agreed times each, by the database (INSERT … SELECT generate_series, see
``_common.bulk_world_sql``). Then, with the clock at 21:00 Stockholm tonight:

1. ``checks.actions.plan_night`` for tonight, cold: time and the process's peak RSS;
2. one worker tick that also plans tomorrow night (so both nights are planned, as in
   production), then idle ticks: the fixed cost of evaluating what is due;
3. the clock at 22:00, when a sixth of the persons fall due at once: busy ticks,
   each making a full batch due, and the rate at which the wave drains (bounded).

Ends with ``name: value`` lines: ``scale.plan_100k_s``, ``scale.tick_100k_ms``,
``scale.plan_peak_rss_mb`` (and a few more).

With ``--workers N`` it measures instead how make-due scales over worker processes
(docs/PERFORMANCE.md): ``--municipalities`` municipalities share ``--persons`` persons;
real ``manage.py run_worker`` processes on a shared simulated clock plan both nights,
then one worker alone drains the 22:00 wave and all N together the 22:10 wave (each a
sixth of the persons). ``scale.due_per_s_1_worker``, ``scale.due_per_s_n_workers``
and ``scale.due_per_s_per_worker`` (the second divided by N), and
``scale.lock_wait_share_n_workers``: the share of the busy workers' time spent waiting
for a lock (on a shared machine the rates follow its load; this share much less).
Then, with the workers still running, one operator process per municipality opens the
22:10 wave's checks as fast as the database lets it, each view doing what a real one
asks of PostgreSQL (open: attempt and grant; the gateway redeems it, reports the first
frame and the end; the outcome "seen"): ``scale.views_per_s`` (all operators together),
``scale.views_per_s_per_operator`` and ``scale.lock_wait_share_views``.

    .venv/bin/python benchmarks/scale_plan.py            # 100,000 persons, ~3 min
    .venv/bin/python benchmarks/scale_plan.py --quick    # 20,000 persons
    .venv/bin/python benchmarks/scale_plan.py --workers 4 --municipalities 4 --persons 24000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from _common import (
    PYTHON,
    ROOT,
    bench_municipality,
    django_env,
    drop_database,
    evening,
    headline,
    machine_load,
    migrate,
    peak_rss_mb,
    process_cpu_s,
    recreate_database,
    say,
    setup_django,
)

IDLE_TICKS = 10
DRAIN_LIMIT_S = 60
VIEWS_S = 20  # how long the operator processes open views


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=None, help="persons (100000; 20000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="20,000 persons and a shorter drain")
    parser.add_argument("--database", default="bench_scale")
    parser.add_argument("--keep", action="store_true", help="leave the database for inspection afterwards")
    parser.add_argument("--workers", type=int, default=0, help="measure make-due over this many worker processes")
    parser.add_argument("--municipalities", type=int, default=4, help="with --workers: municipalities (4)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    persons = args.persons or (20_000 if args.quick else 100_000)
    recreate_database(args.database)
    try:
        say(f"database {args.database}: migrate")
        say(f"  migrate: {migrate(args.database):.1f} s")
        setup_django(args.database)
        if args.workers:
            run_workers(
                args.persons or 24_000, municipalities=args.municipalities, workers=args.workers, database=args.database
            )
        else:
            run(persons, quick=args.quick)
    finally:
        if not args.keep:
            drop_database(args.database)


def run(persons: int, *, quick: bool) -> None:
    from django.db import connection

    from checks import actions
    from checks.engine import BATCH, NightWorker
    from checks.models import Check, CheckState
    from checks.nights import night_of
    from nattillsyn import clock
    from nattillsyn.clock import FakeClock

    fake = FakeClock(evening())
    clock.set_now_provider(fake)
    started = time.perf_counter()
    tenant, _users = bench_municipality("Skalby kommun", "skalby", persons=persons, now=fake())
    made_s = time.perf_counter() - started
    say(f"  {persons:,} persons with decision, consent, camera and 3 agreed times: {made_s:.1f} s")

    tonight = night_of(fake())
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    planned = actions.plan_night(tenant, tonight, now=fake())
    plan_s = time.perf_counter() - started
    rss_after = peak_rss_mb()
    say(f"plan_night({tonight}): {planned:,} checks in {plan_s:.2f} s; peak RSS {rss_before:.0f} → {rss_after:.0f} MB")

    worker = NightWorker("bench-scale")
    started = time.perf_counter()
    report = worker.tick(fake())
    say(f"first tick (plans tomorrow night too): {time.perf_counter() - started:.2f} s {report.counts}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE checks_check")

    idle = []
    for _ in range(IDLE_TICKS):
        fake.advance(seconds=2)
        started = time.perf_counter()
        report = worker.tick(fake())
        idle.append((time.perf_counter() - started) * 1000)
    say(f"idle ticks: median {statistics.median(idle):.0f} ms, max {max(idle):.0f} ms {report.counts}")

    fake.set(evening(22))
    wave = Check.objects.filter(state=CheckState.PLANNED, scheduled_at__lte=fake()).count()
    busy = []
    drained = 0
    drain_started = time.perf_counter()
    limit = 10 if quick else DRAIN_LIMIT_S
    while time.perf_counter() - drain_started < limit:
        started = time.perf_counter()
        report = worker.tick(fake())
        busy.append((time.perf_counter() - started) * 1000)
        drained += report.counts.get("due", 0)
        if not report.backlog:
            break
    drain_s = time.perf_counter() - drain_started
    say(
        f"22:00 wave of {wave:,} checks: {drained:,} made due in {drain_s:.1f} s over {len(busy)} ticks "
        f"(busy tick median {statistics.median(busy):.0f} ms, batch {BATCH})"
    )

    say(f"machine: {machine_load()}")
    headline("scale.persons", persons)
    headline("scale.checks_per_night", planned)
    headline("scale.tick_busy_ms", f"{statistics.median(busy):.0f}")
    headline("scale.due_per_s", f"{drained / drain_s:.0f}")
    headline("scale.plan_100k_s", f"{plan_s:.2f}")
    headline("scale.tick_100k_ms", f"{statistics.median(idle):.0f}")
    headline("scale.plan_peak_rss_mb", f"{rss_after:.0f}")


def _write_clock(path: Path, moment: datetime) -> None:
    """The shared clock the workers read (run_worker.SharedClock), running at real speed from ``moment``."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"start": moment.astimezone(UTC).isoformat(), "anchor": time.time(), "speed": 1.0}))
    os.replace(temporary, path)


def _wait_for(condition, what: str, limit_s: float = 600) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > limit_s:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.2)


def run_workers(persons: int, *, municipalities: int, workers: int, database: str) -> None:
    """Make-due throughput of one worker, then of ``workers`` worker processes, over
    several municipalities (each wave a sixth of the persons, see bulk_world_sql)."""
    from datetime import timedelta

    from checks.models import Check, CheckState, NightPlan, WorkerHeartbeat

    start = evening()
    started = time.perf_counter()
    for number in range(municipalities):
        bench_municipality(
            f"Skalby {number + 1}",
            f"skalby-{number + 1}",
            prefix=f"skalby{number + 1}",
            persons=persons // municipalities,
            now=start,
        )
    made_s = time.perf_counter() - started
    say(f"{municipalities} municipalities of {persons // municipalities:,} persons: {made_s:.1f} s")

    directory = Path(tempfile.mkdtemp(prefix="bench_scale_workers_"))
    clock_path = directory / "clock.json"
    _write_clock(clock_path, start)
    processes: list[subprocess.Popen[bytes]] = []

    def start_worker(index: int) -> None:
        log = open(directory / f"worker-{index}.log", "ab")  # noqa: SIM115 - owned by the process
        command = [PYTHON, "manage.py", "run_worker", "--interval", "0.25", "--prober", "none"]
        command += ["--name", f"bench-{index}", "--clock-file", str(clock_path)]
        processes.append(
            subprocess.Popen(command, cwd=ROOT, env=django_env(database), stdout=log, stderr=subprocess.STDOUT)
        )

    def drain(at: datetime, count: int) -> tuple[float, float]:
        """Jump the clock to ``at``; the rate at which the wave scheduled then is made due,
        and the share of the workers' time spent waiting for a lock (sampled from
        pg_stat_activity): the part the machine's other load does not explain."""
        wave = Check.objects.filter(state=CheckState.PLANNED, scheduled_at__lte=at + timedelta(seconds=30))
        size = wave.count()
        began = time.perf_counter()
        _write_clock(clock_path, at)
        share = _lock_wait_share_while(wave.exists)
        elapsed = time.perf_counter() - began
        say(
            f"{count} worker(s): {size:,} checks of {municipalities} municipalities made due in {elapsed:.1f} s; "
            f"{share:.0%} of the busy workers' samples waiting for a lock"
        )
        return size / elapsed, share

    try:
        start_worker(0)
        _wait_for(lambda: NightPlan.objects.count() >= 2 * municipalities, "both nights planned")
        one, _one_waiting = drain(start.replace(hour=22), 1)
        for index in range(1, workers):
            start_worker(index)
        _wait_for(lambda: WorkerHeartbeat.objects.count() >= workers, "every worker's first tick")
        # The operators saw the first wave: at 22:10 it would raise overdue alarms, work that
        # is not making checks due.
        Check.objects.filter(state=CheckState.DUE).update(state=CheckState.DONE)
        many, many_waiting = drain(start.replace(hour=22, minute=10), workers)
        views, views_waiting = open_views(clock_path, municipalities)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
    failed = sum(path.read_text(errors="replace").count("failed") for path in directory.glob("worker-*.log"))
    say(f"machine: {machine_load()}; worker log lines with 'failed': {failed}")
    headline("scale.municipalities", municipalities)
    headline("scale.workers", workers)
    headline("scale.due_per_s_1_worker", f"{one:.0f}")
    headline("scale.due_per_s_n_workers", f"{many:.0f}")
    headline("scale.due_per_s_per_worker", f"{many / workers:.0f}")
    headline("scale.lock_wait_share_n_workers", f"{many_waiting:.2f}")
    headline("scale.view_operators", municipalities)
    headline("scale.views_per_s", f"{views:.0f}")
    headline("scale.views_per_s_per_operator", f"{views / municipalities:.0f}")
    headline("scale.lock_wait_share_views", f"{views_waiting:.2f}")


def _lock_wait_share_while(going_on: Callable[[], bool]) -> float:
    """Sample this database's busy client backends (not this one) every 0.1 s while
    ``going_on()``: the share of the samples waiting for a lock."""
    from django.db import connection

    samples = waiting = 0
    while going_on():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_type = 'client backend' "
                "AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            busy, locked = cursor.fetchone()
        samples, waiting = samples + busy, waiting + locked
        time.sleep(0.1)
    return waiting / samples if samples else 0.0


def open_views(clock_path: Path, municipalities: int) -> tuple[float, float]:
    """One operator process per municipality opens due checks for ``VIEWS_S`` seconds:
    views per second (all together) and the share of their time spent waiting for a lock."""
    import multiprocessing

    from django.db import connections

    from accounts.models import Tenant

    tenants = list(Tenant.objects.filter(slug__startswith="skalby-").values_list("id", flat=True))
    connections.close_all()  # each forked operator opens its own connection
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    began = time.perf_counter()
    until = began + VIEWS_S
    operators = [context.Process(target=_operator, args=(str(clock_path), t, until, results)) for t in tenants]
    for operator in operators:
        operator.start()
    share = _lock_wait_share_while(lambda: any(operator.is_alive() for operator in operators))
    elapsed = time.perf_counter() - began
    done = [results.get(timeout=5) for _ in operators]
    views = sum(count for count, *_rest in done)
    refused = sum(refused for _count, refused, *_cpu in done)
    cpu_ms = 1000 * sum(cpu for _count, _refused, cpu, _database in done) / max(views, 1)
    database_ms = 1000 * sum(database for *_rest, database in done) / max(views, 1)
    say(
        f"{len(operators)} operator(s): {views:,} views in {elapsed:.1f} s ({refused} refused); "
        f"{share:.0%} of the busy sessions' samples waiting for a lock; "
        f"CPU a view: {cpu_ms:.0f} ms in the operator's process, {database_ms:.1f} ms in its PostgreSQL backend"
    )
    headline("scale.view_operator_cpu_ms", f"{cpu_ms:.0f}")
    headline("scale.view_database_cpu_ms", f"{database_ms:.1f}")
    headline("scale.views_per_s_per_database_core", f"{1000 / max(database_ms, 0.1):.0f}")
    return views / elapsed, share


def _operator(clock_path: str, tenant: int, until: float, results: object) -> None:
    """An operator at the database's pace: each due check of ``tenant`` opened, its view
    redeemed, framed and ended as the gateway reports it, and the outcome "seen" recorded."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Role
    from cameras.actions import record_view_event, redeem_grant
    from checks import actions
    from checks.management.commands.run_worker import SharedClock
    from checks.models import Check, CheckState, Outcome
    from nattillsyn import clock
    from nattillsyn.errors import ActionRefused

    clock.set_now_provider(SharedClock(clock_path))
    # No gateway runs here: its prepare call (after each open) is refused at once; quietly.
    logging.getLogger("cameras.gateway_client").setLevel(logging.ERROR)
    operator = get_user_model().objects.get(memberships__tenant_id=tenant, memberships__role=Role.OPERATOR)
    due = Check.objects.filter(tenant_id=tenant, state=CheckState.DUE, person__camera__isnull=False).order_by("id")
    views = refused = 0
    last_id = 0
    cpu_began = time.process_time()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    backend_began = process_cpu_s(backend)  # PostgreSQL runs on this machine
    while time.perf_counter() < until:
        check = due.filter(id__gt=last_id).first()
        if check is None:
            break
        last_id = check.id
        try:
            attempt, _token = actions.open_check(check, actor=operator, ip="127.0.0.1")
        except ActionRefused:
            refused += 1
            continue
        grant = attempt.grant
        redeem_grant(str(grant.gid), gateway="bench", viewer_ip="127.0.0.1", address_reported=True)
        now = clock.now()
        # The picture shown for the municipality's minimum look, as the gateway reports it.
        looked = timedelta(seconds=check.tenant.min_view_s)
        record_view_event(str(grant.gid), event="first_frame", at=now - looked)
        record_view_event(str(grant.gid), event="ended", at=now, reason="closed", bytes_sent=250_000)
        actions.record_outcome(attempt, actor=operator, outcome=Outcome.SEEN_OK)
        views += 1
    own_cpu, database_cpu = time.process_time() - cpu_began, process_cpu_s(backend) - backend_began
    results.put((views, refused, own_cpu, database_cpu))  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
