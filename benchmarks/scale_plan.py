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

    .venv/bin/python benchmarks/scale_plan.py            # 100,000 persons, ~3 min
    .venv/bin/python benchmarks/scale_plan.py --quick    # 20,000 persons
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime

from _common import (
    bulk_world_sql,
    drop_database,
    headline,
    machine_load,
    make_bench_users,
    migrate,
    peak_rss_mb,
    recreate_database,
    say,
    setup_django,
)

IDLE_TICKS = 10
DRAIN_LIMIT_S = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=None, help="persons (100000; 20000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="20,000 persons and a shorter drain")
    parser.add_argument("--database", default="bench_scale")
    parser.add_argument("--keep", action="store_true", help="leave the database for inspection afterwards")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    persons = args.persons or (20_000 if args.quick else 100_000)
    recreate_database(args.database)
    try:
        say(f"database {args.database}: migrate")
        say(f"  migrate: {migrate(args.database):.1f} s")
        setup_django(args.database)
        run(persons, quick=args.quick)
    finally:
        if not args.keep:
            drop_database(args.database)


def run(persons: int, *, quick: bool) -> None:
    from django.db import connection

    from accounts.models import Tenant
    from checks import actions
    from checks.engine import BATCH, NightWorker
    from checks.models import Check, CheckState
    from checks.nights import night_of
    from nattillsyn import clock
    from nattillsyn.clock import FakeClock

    today = datetime.now(clock.STOCKHOLM).date()
    fake = FakeClock(datetime(today.year, today.month, today.day, 21, 0, tzinfo=clock.STOCKHOLM))
    clock.set_now_provider(fake)
    tenant = Tenant.objects.create(name="Skalby kommun", slug="skalby")
    users = make_bench_users(tenant, "skalby", "bench-password-long")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        bulk_world_sql(
            cursor,
            tenant=tenant.id,
            persons=persons,
            users={role: users[role].id for role in ("case_officer", "planner", "installer", "operator")},
            now=fake(),
        )
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

    fake.set(datetime(today.year, today.month, today.day, 22, 0, tzinfo=clock.STOCKHOLM))
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


if __name__ == "__main__":
    main()
