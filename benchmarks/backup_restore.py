"""Backup and the restore drill at the size of a large municipality.

On PostgreSQL, in databases of its own (``bench_backup`` and ``bench_restored``,
dropped at the end): ``--persons`` persons (default 10,000; 2,000 with ``--quick``)
made by ``_common.bulk_world_sql``, tonight planned by the worker (three checks each,
their audit entries), then ``deploy/backup.sh`` and ``deploy/restore-drill.sh`` exactly
as an operator of the service runs them. Prints

    backup.persons, backup.checks, backup.audit_entries, backup.dump_mb,
    backup.backup_s (heads + pg_dump + manifest),
    backup.restore_s (the whole drill: checksums, pg_restore, chain verified against the
    exported heads, migrate, one worker tick), backup.pg_restore_s, backup.chain_verified

    .venv/bin/python benchmarks/backup_restore.py [--quick]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    bench_municipality,
    django_env,
    drop_database,
    evening,
    headline,
    machine_load,
    migrate,
    recreate_database,
    say,
    setup_django,
)

DATABASE, RESTORED = "bench_backup", "bench_restored"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    persons = args.persons or (2_000 if args.quick else 10_000)
    recreate_database(DATABASE)
    drop_database(RESTORED)
    try:
        say(f"migrate: {migrate(DATABASE):.1f} s")
        setup_django(DATABASE)
        counts = seed(persons)
        with tempfile.TemporaryDirectory() as tmp:
            env = django_env(DATABASE)
            started = time.perf_counter()
            made = subprocess.run(
                ["deploy/backup.sh", tmp], cwd=ROOT, env=env, check=True, capture_output=True, text=True
            )
            backup_s = time.perf_counter() - started
            backup = Path(made.stdout.strip().splitlines()[-1])
            dump_mb = (backup / "nattillsyn.dump").stat().st_size / 1e6
            started = time.perf_counter()
            drill = subprocess.run(
                ["deploy/restore-drill.sh", str(backup), RESTORED], cwd=ROOT, env=env, capture_output=True, text=True
            )
            restore_s = time.perf_counter() - started
        if drill.returncode != 0:
            raise SystemExit(drill.stdout + drill.stderr)
        figures = dict(re.findall(r"^(restore\.[a-z_]+): (\S+)$", drill.stdout, flags=re.M))
        headline("backup.persons", persons)
        headline("backup.checks", counts["checks"])
        headline("backup.audit_entries", counts["audit"])
        headline("backup.dump_mb", round(dump_mb, 1))
        headline("backup.backup_s", round(backup_s, 1))
        headline("backup.restore_s", round(restore_s, 1))
        headline("backup.pg_restore_s", figures.get("restore.pg_restore_s"))
        headline("backup.chain_verified", figures.get("restore.chain_verified"))
        say(f"machine load: {machine_load()}")
    finally:
        drop_database(DATABASE)
        drop_database(RESTORED)


def seed(persons: int) -> dict[str, int]:
    from audit.models import AuditEntry
    from checks.engine import NightWorker
    from checks.models import Check
    from nattillsyn import clock
    from nattillsyn.clock import FakeClock

    fake = FakeClock(evening())
    clock.set_now_provider(fake)
    started = time.perf_counter()
    bench_municipality("Backby kommun", "backby", persons=persons, now=fake())
    NightWorker("bench-backup").tick(fake())
    say(f"{persons:,} persons and tonight's plan: {time.perf_counter() - started:.1f} s")
    return {"checks": Check.objects.count(), "audit": AuditEntry.objects.count()}


if __name__ == "__main__":
    main()
