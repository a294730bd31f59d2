"""A simulated night under faults: are checks ever lost, done twice or left unaudited?

On PostgreSQL, in a database of its own (default ``bench_chaos``, created, migrated
with ``manage.py migrate`` and dropped by the script), loopback only:

1. one municipality of ``--persons`` persons (default 1,000) with three agreed camera
   times each, spread over ``--span-min`` minutes from 22:00 (``_common.bulk_world_sql``);
   5 % of the cameras are offline, every 50th person has no consent (a planned visit),
   every 97th an untested camera, every 200th a hospital absence; a 20-minute window;
2. a fast simulated clock shared by every process: a small JSON file read by
   ``run_worker --clock-file`` (``SharedClock``) and by this process, ``--speed`` night
   seconds per real second (by default the night is compressed so that the operators
   are asked for CHECKS_PER_REAL_S checks a second: ×12 for 1,000 persons);
3. ``--workers`` real worker processes (``manage.py run_worker``) with a probe that
   reports the offline cameras as faulty (``_common.scenario_probe``);
4. automated operators (threads, each its own connection) that open due camera checks
   through ``checks.actions`` as the console does, look for 30 night seconds and record
   an outcome (technical fault for an offline camera; otherwise mostly seen OK, some not
   visible, a few needs help), and a night patrol that acknowledges and resolves
   escalations;
5. chaos meanwhile: a random worker killed with SIGKILL every ``--kill-every`` seconds
   and started again 1–3 s later; one worker frozen (SIGSTOP) for longer than its lease
   (``--lease-timeout``); PostgreSQL restarted once (``pg_ctlcluster 15 main restart``;
   ``--no-pg-restart`` to leave it alone: it cuts every session on the cluster).

When every check of the night has ended, the clock jumps to the next noon so the
workers reconcile the night, and the workers get SIGTERM. Then it counts:
checks scheduled (expected from the agreements), ended, lost (expected − ended),
checks handled twice (two CHECK_DUE entries or two escalations), audit entries missing
(each ended check has its outcome / escalation / cancellation entry, each outcome and
escalation its entry; ``verify_chain`` passes) and the worst delay from the moment
something was due (agreed time, retry time, window end) to the worker acting on it, in
night seconds.

    .venv/bin/python benchmarks/chaos_night.py            # 1,000 persons, ~15 min
    .venv/bin/python benchmarks/chaos_night.py --quick    # 150 persons, ~5 min
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    ROOT,
    bulk_world_sql,
    django_env,
    drop_database,
    headline,
    machine_load,
    make_bench_users,
    migrate,
    recreate_database,
    say,
    setup_django,
)

PG_RESTART = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]
OFFLINE_EVERY = 20  # 5 % of the cameras
VIEW_S = 30  # night seconds an operator looks
VISIT_S = 300  # night seconds from acknowledging an escalation to its result
# The bench municipality's check window: short, so a check nobody takes escalates soon.
WINDOW_MIN = 20
# Real checks per second the automated operators are asked for (the rest of the night is
# compressed around it): a real night of 1,000 persons has about one every 4 seconds.
CHECKS_PER_REAL_S = 5.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="150 persons, 2 workers, one hour of checks")
    parser.add_argument("--persons", type=int, default=None, help="persons (1000; 150 with --quick)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (3; 2 with --quick)")
    parser.add_argument("--span-min", type=int, default=None, help="night minutes the agreed times spread over")
    parser.add_argument("--speed", type=float, default=None, help="night seconds per real second (from the rate)")
    parser.add_argument("--kill-every", type=float, default=None, help="real seconds between kills (30; 20 quick)")
    parser.add_argument("--lease-timeout", type=int, default=5, help="run_worker --lease-timeout (5)")
    parser.add_argument("--no-pg-restart", action="store_true", help="do not restart the PostgreSQL cluster")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="bench_chaos")
    parser.add_argument("--keep", action="store_true", help="leave the database and logs for inspection")
    args = parser.parse_args()
    args.persons = args.persons or (150 if args.quick else 1000)
    args.workers = args.workers or (2 if args.quick else 3)
    args.span_min = args.span_min or (60 if args.quick else 120)
    # Compress the night so the operators are asked for CHECKS_PER_REAL_S checks a second.
    args.speed = args.speed or args.span_min * 60 * CHECKS_PER_REAL_S / (3 * args.persons)
    args.kill_every = args.kill_every or (20.0 if args.quick else 30.0)
    return args


@dataclass
class Tally:
    """What happened during the run, counted by the threads that made it happen."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self.counts[name] += amount


class ClockFile:
    """Writes the shared clock that the workers read (run_worker.SharedClock)."""

    def __init__(self, path: Path, speed: float) -> None:
        self.path, self.speed = path, speed

    def start_at(self, moment: datetime) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({"start": moment.astimezone(UTC).isoformat(), "anchor": time.time(), "speed": self.speed})
        )
        os.replace(temporary, self.path)  # atomic: a worker never reads half a file


class Workers:
    """The worker processes, started, killed, frozen and stopped by the chaos."""

    def __init__(self, count: int, database: str, clock_file: Path, log_dir: Path, lease_timeout: int) -> None:
        self.database, self.clock_file, self.log_dir = database, clock_file, log_dir
        self.lease_timeout = lease_timeout
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.lock = threading.Lock()
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
                "0.25",
                "--max-backoff",
                "2",
                "--name",
                f"chaos-{index}",
                "--clock-file",
                str(self.clock_file),
                "--prober",
                "_common.scenario_probe",
                "--privacy-driver",
                "none",  # no simulated cameras run here; benchmarks/privacy_chaos.py measures privacy
                "--lease-timeout",
                str(self.lease_timeout),
            ],
            cwd=ROOT,
            env=django_env(self.database, LOG_LEVEL="INFO"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, index: int) -> None:
        with self.lock:
            self.processes[index].kill()
            self.processes[index].wait()

    def stop_all(self) -> float:
        """SIGTERM to every worker; the longest any took to exit."""
        started = time.monotonic()
        for process in self.processes.values():
            process.send_signal(signal.SIGCONT)
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        return time.monotonic() - started

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.log_dir.glob("worker-*.log")))


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    log_dir = ROOT / "var" / "bench_chaos"
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("worker-*.log"):
        old.unlink()
    clock_path = log_dir / "clock.json"
    recreate_database(args.database)
    workers: Workers | None = None
    try:
        say(f"database {args.database}: migrate ({migrate(args.database):.1f} s)")
        setup_django(args.database)
        # No gateway runs here: each opened check's "prepare" fails at once, as designed.
        logging.getLogger("cameras.gateway_client").setLevel(logging.ERROR)
        from checks.management.commands.run_worker import SharedClock
        from nattillsyn import clock

        today = clock.today()
        night_start = datetime(today.year, today.month, today.day, 21, 55, tzinfo=clock.STOCKHOLM)
        clock_file = ClockFile(clock_path, args.speed)
        clock_file.start_at(night_start - timedelta(hours=2))  # the world is made "earlier this evening"
        clock.set_now_provider(SharedClock(str(clock_path)))
        world = make_world(args)
        say(f"{args.persons:,} persons, {world['expected']:,} agreed checks tonight; speed ×{args.speed:g}")
        clock_file.start_at(night_start)
        workers = Workers(args.workers, args.database, clock_path, log_dir, args.lease_timeout)
        tally = Tally()
        run_night(args, rng, world, workers, clock_file, tally)
        stop_s = workers.stop_all()
        report(args, world, workers, tally, stop_s)
    finally:
        if workers is not None:
            workers.stop_all()
        if not args.keep:
            drop_database(args.database)


def make_world(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection

    from accounts.models import Role, Tenant
    from checks.models import AgreedTime
    from nattillsyn import clock
    from nattillsyn.testing import make_user

    tenant = Tenant.objects.create(name="Kaosby kommun", slug="kaosby")
    users = make_bench_users(tenant, "kaosby", "bench-password-long")
    tenant.check_window_min = WINDOW_MIN
    tenant.save(update_fields=["check_window_min"])
    # Enough operators for the rate, each looking VIEW_S night seconds, with half again to spare.
    staff = max(4, round(CHECKS_PER_REAL_S * (VIEW_S / args.speed + 0.15) * 1.5))
    operators = [make_user(f"kaosby-op{n}", tenant, Role.OPERATOR) for n in range(staff)]
    # About one check in eight becomes an escalation (visits, faults, needs help); each
    # patrol is away VISIT_S night seconds per escalation.
    crews = max(3, round(CHECKS_PER_REAL_S * 0.125 * (VISIT_S / args.speed) * 1.5))
    patrols = [make_user(f"kaosby-patrol{n}", tenant, Role.PATROL) for n in range(crews)]
    with connection.cursor() as cursor:
        bulk_world_sql(
            cursor,
            tenant=tenant.id,
            persons=args.persons,
            users={role: users[role].id for role in ("case_officer", "planner", "installer", "operator")},
            now=clock.now(),
            times=tuple(
                f"{(22 + (args.span_min * n // 3) // 60) % 24}:{(args.span_min * n // 3) % 60:02d}" for n in range(3)
            ),
            slots=args.span_min // 3,
            step_min=1,
            offline_every=OFFLINE_EVERY,
        )
    expected = AgreedTime.objects.filter(agreement__person__tenant=tenant).count()
    return {"tenant": tenant, "operators": operators, "patrols": patrols, "expected": expected}


def run_night(
    args: argparse.Namespace,
    rng: random.Random,
    world: dict[str, Any],
    workers: Workers,
    clock_file: ClockFile,
    tally: Tally,
) -> None:
    from checks.models import END_CHECK_STATES, Check, Escalation, EscalationState, NightReconciliation
    from checks.nights import night_of
    from nattillsyn import clock

    tenant = world["tenant"]
    night = night_of(clock.now())
    stop = threading.Event()
    threads = [
        threading.Thread(target=operator_loop, args=(user, tenant, args.speed, stop, tally, rng.random()))
        for user in world["operators"]
    ] + [
        threading.Thread(target=patrol_loop, args=(user, tenant, args.speed, stop, tally, rng.random()))
        for user in world["patrols"]
    ]
    for thread in threads:
        thread.start()

    # The checks come during the span; the chaos happens in its busy part. After it, a check
    # may still wait for its window to close, a retry or the patrol.
    span_real_s = args.span_min * 60 / args.speed
    night_real_s = (args.span_min + WINDOW_MIN + 30) * 60 / args.speed
    last_check = night_start_of(night) + timedelta(minutes=args.span_min + 5)
    started = time.monotonic()
    pg_restart_at = None if args.no_pg_restart else span_real_s * 0.4
    freeze_at = span_real_s * 0.6
    next_kill = args.kill_every
    events: list[str] = []
    try:
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= next_kill:
                index = rng.randrange(len(workers.processes))
                workers.kill(index)
                time.sleep(rng.uniform(1, 3))
                workers.start(index)
                tally.add("workers_killed")
                events.append(f"{elapsed:5.0f} s kill -9 worker {index}")
                next_kill += args.kill_every * rng.uniform(0.7, 1.3)
            if pg_restart_at is not None and elapsed >= pg_restart_at:
                pg_restart_at = None
                began = time.monotonic()
                subprocess.run(PG_RESTART, check=True, capture_output=True)
                tally.counts["pg_restart_ms"] = int((time.monotonic() - began) * 1000)
                events.append(f"{elapsed:5.0f} s PostgreSQL restarted ({tally.counts['pg_restart_ms']} ms)")
            if freeze_at is not None and elapsed >= freeze_at:
                freeze_at = None
                frozen = workers.processes[0]
                frozen.send_signal(signal.SIGSTOP)
                time.sleep(args.lease_timeout + 3)
                frozen.send_signal(signal.SIGCONT)
                events.append(f"{elapsed:5.0f} s worker 0 frozen (SIGSTOP) for {args.lease_timeout + 3} s")
            try:
                open_checks = Check.objects.filter(tenant=tenant, night=night).exclude(state__in=END_CHECK_STATES)
                remaining = open_checks.count()
                unresolved = Escalation.objects.filter(
                    tenant=tenant,
                    night_check__night=night,
                    state__in=(EscalationState.OPEN, EscalationState.ACKNOWLEDGED),
                ).count()
                planned = Check.objects.filter(tenant=tenant, night=night).count()
            except Exception:
                _reconnect()
                time.sleep(0.5)
                continue
            if planned and not remaining and not unresolved and clock.now() > last_check:
                break
            if elapsed > night_real_s * 2 + 60:
                events.append(f"{elapsed:5.0f} s time limit: {remaining} checks still open")
                break
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    for event in events:
        say(f"  chaos: {event}")
    say(f"night over at {clock.now().astimezone(clock.STOCKHOLM):%H:%M} after {time.monotonic() - started:.0f} s")

    # The next noon: the workers reconcile the night.
    noon = _night_at(night, "12:05", next_day=True)
    clock_file.start_at(noon)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if NightReconciliation.objects.filter(tenant=tenant, night=night).exists():
                break
        except Exception:
            _reconnect()
        time.sleep(0.5)


def night_start_of(night: Any) -> datetime:
    return _night_at(night, "22:00")


def _night_at(night: Any, hhmm: str, *, next_day: bool = False) -> datetime:
    """A local time of the night (times before noon are the next morning), or with
    ``next_day`` of the day after the night began."""
    from checks.nights import scheduled_instant
    from nattillsyn import clock

    hour, minute = (int(part) for part in hhmm.split(":"))
    if next_day:
        return datetime(night.year, night.month, night.day, hour, minute, tzinfo=clock.STOCKHOLM) + timedelta(days=1)
    return scheduled_instant(night, dt_time(hour, minute))


def _reconnect() -> None:
    from django.db import connection

    with contextlib.suppress(Exception):  # already broken: closed either way
        connection.close()


def _pause(night_seconds: float, speed: float, stop: threading.Event) -> None:
    stop.wait(night_seconds / speed)


def operator_loop(user: Any, tenant: Any, speed: float, stop: threading.Event, tally: Tally, seed: float) -> None:
    """An operator at the console: the most overdue check first (one of the first few, as
    colleagues take the top one), open, look, record."""
    from django.db import connection
    from django.db.models import Q

    from checks import actions
    from checks.models import Check, CheckForm, CheckState, Outcome
    from nattillsyn import clock
    from nattillsyn.errors import ActionRefused
    from nattillsyn.testing import show_picture

    rng = random.Random(seed)
    try:
        while not stop.is_set():
            try:
                now = clock.now()
                waiting = list(
                    Check.objects.filter(tenant=tenant, form=CheckForm.CAMERA)
                    .filter(Q(state=CheckState.DUE) | Q(state=CheckState.RETRY_WAIT, next_attempt_at__lte=now))
                    .order_by("scheduled_at")
                    .values_list("id", "person__camera__simulated_scenario")[:30]
                )
                if not waiting:
                    stop.wait(0.1)
                    continue
                check_id, scenario = rng.choice(waiting)
                try:
                    attempt, _token = actions.open_check(Check(pk=check_id), actor=user)
                except ActionRefused:
                    tally.add("operator_refused")
                    continue
                _pause(VIEW_S, speed, stop)
                if scenario == "offline":
                    outcome = Outcome.TECHNICAL_FAULT
                else:
                    draw = rng.random()
                    outcome = (
                        Outcome.SEEN_OK if draw < 0.90 else Outcome.NOT_VISIBLE if draw < 0.97 else Outcome.NEEDS_HELP
                    )
                if outcome != Outcome.TECHNICAL_FAULT:
                    show_picture(attempt, seconds=VIEW_S)  # the gateway's first-frame report
                record_with_retries(attempt, user, outcome, tally)
                tally.add(f"outcome_{outcome}")
            except Exception as exc:  # the database restarting under us: reconnect and go on
                tally.add(f"operator_error_{type(exc).__name__}")
                _reconnect()
                stop.wait(0.3)
    finally:
        connection.close()


def record_with_retries(attempt: Any, user: Any, outcome: str, tally: Tally) -> None:
    """The operator keeps pressing the button until the outcome is stored."""
    from checks import actions
    from nattillsyn.errors import ActionRefused

    for _ in range(40):
        try:
            actions.record_outcome(attempt, actor=user, outcome=outcome)
            return
        except ActionRefused:
            return  # recorded by an earlier press whose answer was lost
        except Exception:
            tally.add("outcome_retries")
            _reconnect()
            time.sleep(0.25)
    tally.add("outcome_lost")


def patrol_loop(user: Any, tenant: Any, speed: float, stop: threading.Event, tally: Tally, seed: float) -> None:
    """The night patrol: acknowledge the oldest escalation, go there, record the result."""
    from django.db import connection

    from checks import actions
    from checks.models import Escalation, EscalationResult, EscalationState
    from nattillsyn.errors import ActionRefused

    rng = random.Random(seed)
    try:
        while not stop.is_set():
            try:
                waiting = list(
                    Escalation.objects.filter(tenant=tenant, state=EscalationState.OPEN)
                    .order_by("created_at")
                    .values_list("id", flat=True)[:5]
                )
                if not waiting:
                    stop.wait(0.5)
                    continue
                escalation = Escalation(pk=rng.choice(waiting))
                try:
                    actions.acknowledge_escalation(escalation, actor=user)
                except ActionRefused:
                    continue
                _pause(VISIT_S * rng.uniform(0.5, 1.5), speed, stop)
                for _ in range(40):
                    try:
                        actions.resolve_escalation(escalation, actor=user, result=EscalationResult.VISITED_OK)
                        tally.add("escalations_resolved")
                        break
                    except ActionRefused:
                        break
                    except Exception:
                        _reconnect()
                        time.sleep(0.25)
            except Exception:
                tally.add("patrol_db_errors")
                _reconnect()
                stop.wait(0.3)
    finally:
        connection.close()


def report(args: argparse.Namespace, world: dict[str, Any], workers: Workers, tally: Tally, stop_s: float) -> None:
    from audit.models import AuditAction, AuditEntry
    from audit.records import verify_chain
    from checks.models import (
        END_CHECK_STATES,
        Attempt,
        Check,
        CheckForm,
        CheckState,
        Escalation,
        EscalationCause,
        EscalationState,
        NightReconciliation,
    )

    tenant = world["tenant"]
    _reconnect()
    night = Check.objects.filter(tenant=tenant).order_by("night").values_list("night", flat=True).first()
    checks = list(Check.objects.filter(tenant=tenant, night=night))
    ended = [check for check in checks if check.state in END_CHECK_STATES]
    by_state = Counter(check.state for check in checks)

    entries = AuditEntry.objects.filter(tenant=tenant)
    due_entries = Counter(entries.filter(action=AuditAction.CHECK_DUE).values_list("object_id", flat=True))
    outcome_entries = set(entries.filter(action=AuditAction.CHECK_OUTCOME).values_list("object_id", flat=True))
    escalated_entries = set(entries.filter(action=AuditAction.ESCALATED).values_list("object_id", flat=True))
    resolved_entries = set(entries.filter(action=AuditAction.ESCALATION_RESOLVED).values_list("object_id", flat=True))
    cancelled_entries = set(entries.filter(action=AuditAction.CHECK_CANCELLED).values_list("object_id", flat=True))
    escalations = list(Escalation.objects.filter(tenant=tenant, night_check__night=night).select_related("night_check"))
    escalations_per_check = Counter(escalation.night_check_id for escalation in escalations)
    attempts = list(Attempt.objects.filter(night_check__tenant=tenant, night_check__night=night))
    outcome_attempts = {attempt.night_check_id for attempt in attempts if attempt.outcome == "seen_ok"}

    missing: Counter[str] = Counter()
    cancelled_at_planning = 0
    for check in ended:
        if check.state == CheckState.DONE and check.form == CheckForm.CAMERA and check.id not in outcome_attempts:
            missing["done camera check without a seen-OK attempt"] += 1
        elif check.state == CheckState.CANCELLED:
            if str(check.id) in cancelled_entries:
                continue
            if check.end_reason.startswith("absence:") and check.ended_at == check.scheduled_at:
                cancelled_at_planning += 1  # the row carries the reason; see docs/RELIABILITY.md
            else:
                missing["cancelled check without CHECK_CANCELLED"] += 1
        elif check.state == CheckState.ESCALATED and not escalations_per_check.get(check.id):
            missing["escalated check without an escalation"] += 1
    for attempt in attempts:
        if attempt.outcome and str(attempt.id) not in outcome_entries:
            missing["outcome without CHECK_OUTCOME"] += 1
    for escalation in escalations:
        if str(escalation.id) not in escalated_entries:
            missing["escalation without ESCALATED"] += 1
        if escalation.state == EscalationState.RESOLVED and str(escalation.id) not in resolved_entries:
            missing["resolved escalation without ESCALATION_RESOLVED"] += 1
    chain_count, chain_problems = verify_chain()
    if chain_problems:
        missing["audit chain problems"] += len(chain_problems)
    twice = sum(1 for count in due_entries.values() if count > 1) + sum(
        1 for count in escalations_per_check.values() if count > 1
    )

    # Lateness, in night seconds: from the moment something was due to the worker acting.
    due_at = {
        int(object_id): at
        for object_id, at in entries.filter(action=AuditAction.CHECK_DUE).values_list("object_id", "at")
    }
    delays: list[tuple[float, str]] = []
    for check in checks:
        if check.id in due_at:
            delays.append(((due_at[check.id] - check.scheduled_at).total_seconds(), f"check {check.id} made due"))
        if check.next_attempt_at and check.not_visible_count and check.due_at and check.due_at >= check.next_attempt_at:
            delays.append(((check.due_at - check.next_attempt_at).total_seconds(), f"check {check.id} retry due"))
    for escalation in escalations:
        check = escalation.night_check
        if escalation.cause == EscalationCause.PLANNED_VISIT:
            delays.append(((escalation.created_at - check.scheduled_at).total_seconds(), f"visit {check.id} to patrol"))
        elif escalation.cause == EscalationCause.MISSED:
            delays.append(((escalation.created_at - check.window_ends_at).total_seconds(), f"missed {check.id}"))
    worst, worst_what = max(delays) if delays else (0.0, "")
    reconciliation = NightReconciliation.objects.filter(tenant=tenant, night=night).first()
    log = workers.log_text()

    say(f"checks by state: {dict(by_state)}")
    say(f"escalations: {dict(Counter(e.cause for e in escalations))}")
    say(f"operators and patrol: {dict(tally.counts)}")
    say(
        f"workers: {log.count('database unavailable')} ticks met no database, {log.count('tick failed')} failed "
        f"otherwise, {log.count('failed; left in the queue')} rows failed; stopped by SIGTERM in {stop_s:.1f} s"
    )
    say(f"audit: {chain_count:,} entries, chain problems {len(chain_problems)}; missing: {dict(missing) or 0}")
    say(f"cancelled at planning (absence, reason on the row): {cancelled_at_planning}")
    say(f"worst delay: {worst:.0f} night s ({worst / args.speed:.1f} real s), {worst_what}")
    if reconciliation:
        say(
            f"reconciliation of {night}: {reconciliation.checks_total} checks, "
            f"{len(reconciliation.incident_check_ids)} incidents"
        )
    else:
        say(f"reconciliation of {night}: not made within 60 s")

    say(f"machine: {machine_load()}")
    headline("chaos.workers_killed", tally.counts["workers_killed"])
    headline("chaos.pg_restart_ms", tally.counts.get("pg_restart_ms", "skipped"))
    headline("chaos.checks_handled_twice", twice)
    headline("chaos.reconciliation_incidents", len(reconciliation.incident_check_ids) if reconciliation else "none")
    headline("chaos.worst_delay_real_s", f"{worst / args.speed:.1f}")
    headline("chaos.checks_scheduled", world["expected"])
    headline("chaos.checks_ended", len(ended))
    headline("chaos.checks_lost", world["expected"] - len(ended))
    headline("chaos.audit_entries_missing", sum(missing.values()))
    headline("chaos.worst_delay_s", f"{worst:.0f}")


if __name__ == "__main__":
    main()
