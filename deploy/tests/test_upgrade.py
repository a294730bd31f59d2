"""An upgrade without a missed check (docs/OPERATIONS.md, "Upgrades").

The procedure says: migrations first, while the previous release keeps running, then the
processes one by one. So every migration must leave the previous release working, and
must not hold a lock that stops its worker for longer than a tick. This test does
exactly that: the previous release (the commit before the newest migration, from git)
migrates a new PostgreSQL database and runs its worker over a minute boundary at which
30 camera checks become due; meanwhile this release's `manage.py migrate` applies the
newest migrations. No check may be lost and none made due later than a tick allows.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
PERSONS = 30
TICK_S = 0.5
# A tick, the tick's own time and the scheduler's slack: the longest a due check may wait.
ALLOWED_DELAY_S = 2.0

pytestmark = [
    pytest.mark.skipif(os.environ.get("DB") != "postgres", reason="upgrades are of PostgreSQL installations"),
    pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git history"),
]


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def previous_release(tmp: Path) -> tuple[str, Path]:
    """The code as it was just before the newest migration was added."""
    newest = git("log", "-1", "--format=%H", "--", ":(glob)**/migrations/0*.py").decode().strip()
    try:
        previous = git("rev-parse", "--verify", "-q", f"{newest}^").decode().strip()
    except subprocess.CalledProcessError:
        pytest.skip("the history has no commit before the newest migration (a shallow clone)")
    tree = tmp / "previous"
    tree.mkdir()
    with tarfile.open(fileobj=BytesIO(git("archive", "--format=tar", previous))) as archive:
        archive.extractall(tree, filter=_code_only)
    return previous, tree


def _code_only(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """The release's files; not links (a commit once carried a link to a local node_modules)."""
    return None if member.issym() or member.islnk() else tarfile.data_filter(member, path)


def personnummer(n: int) -> str:
    """A valid personnummer (Luhn check digit) for test person ``n``, born 1940."""
    body = f"400101{900 + n:03d}"
    digits = [int(d) * (2 - i % 2) for i, d in enumerate(body)]
    check = (10 - sum(d // 10 + d % 10 for d in digits) % 10) % 10
    return f"19{body}{check}"


SEED = """
import django
django.setup()
from datetime import time
from nattillsyn.testing import make_municipality, make_person
home = make_municipality("Uppgraderingsby kommun", "uppgby")
for n, pnr in enumerate({personnummer}):
    make_person(home, f"Person {{n}}", personnummer=pnr, times=[time({hour}, {minute})])
print("seeded")
"""


def test_the_newest_migrations_apply_while_the_previous_worker_makes_checks_due(tmp_path: Path) -> None:
    previous, old_tree = previous_release(tmp_path)
    database = f"nattillsyn_upgrade_{os.getpid()}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NATTILLSYN_")},
        "DB": "postgres",
        "PGDATABASE": database,
        "PGHOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PGUSER": os.environ.get("PGUSER", "postgres"),
    }
    subprocess.run(["dropdb", "--if-exists", "-h", env["PGHOST"], "-U", env["PGUSER"], database], check=True)
    subprocess.run(["createdb", "-h", env["PGHOST"], "-U", env["PGUSER"], database], check=True)
    manage = [sys.executable, "manage.py"]
    worker = None
    try:
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=old_tree, env=env, check=True)
        # The night's clock: 40 s before the checks' minute, shared with the worker.
        boundary = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
        local = boundary.astimezone(ZoneInfo("Europe/Stockholm"))
        seeded = subprocess.run(
            [sys.executable, "-c", SEED.format(personnummer=[personnummer(n) for n in range(PERSONS)],
                                               hour=local.hour, minute=local.minute)],
            cwd=old_tree, env={**env, "DJANGO_SETTINGS_MODULE": "nattillsyn.settings"}, capture_output=True, check=True,
        )  # fmt: skip
        assert b"seeded" in seeded.stdout, seeded.stderr
        clock_file = tmp_path / "clock.json"
        start = boundary - timedelta(seconds=40)
        clock_file.write_text(json.dumps({"start": start.isoformat(), "anchor": time.time(), "speed": 1.0}))
        options = ["--clock-file", str(clock_file), "--interval", str(TICK_S), "--prober", "none"]
        usage = subprocess.run([*manage, "run_worker", "--help"], cwd=old_tree, env=env, capture_output=True, text=True)
        if "--privacy-driver" in usage.stdout:  # no cameras here: nothing to verify
            options += ["--privacy-driver", "none"]
        worker = subprocess.Popen([*manage, "run_worker", *options], cwd=old_tree, env=env)
        # The upgrade begins 3 s before the checks are due, and runs across their time.
        time.sleep(37)
        began = time.monotonic()
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        migrate_s = time.monotonic() - began
        time.sleep(max(0.0, 8 - migrate_s))
        assert worker.poll() is None, "the previous release's worker stopped during the upgrade"
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        with psycopg.connect(dbname=database, host=env["PGHOST"], user=env["PGUSER"]) as db:
            rows = db.execute(
                "SELECT state, EXTRACT(EPOCH FROM due_at - scheduled_at) FROM checks_check WHERE scheduled_at = %s",
                (boundary,),
            ).fetchall()
        lost = PERSONS - sum(1 for state, _ in rows if state != "planned")
        worst = max((float(delay) for state, delay in rows if delay is not None), default=float("inf"))
        print(f"\nupgrade.previous_release: {previous[:10]}")
        print(f"upgrade.migrate_s: {migrate_s:.2f}")
        print(f"upgrade.checks_lost: {lost}")
        print(f"upgrade.worst_due_delay_s: {worst:.2f}")
        assert len(rows) == PERSONS and lost == 0
        assert worst <= ALLOWED_DELAY_S  # no migration held the worker up beyond a tick
        verified = subprocess.run([*manage, "verify_audit_chain"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        subprocess.run(["dropdb", "--if-exists", "--force", "-h", env["PGHOST"], "-U", env["PGUSER"], database])
