"""Backups and the restore drill (docs/OPERATIONS.md): deploy/backup.sh of a database with
a planned night and audit entries, then deploy/restore-drill.sh into a new database: the
files match, every audit chain reaches its exported head, the worker ticks on it, and
tonight's plan is the same as in the original."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(os.environ.get("DB") != "postgres", reason="production backups are of PostgreSQL")

SEED = """
import django
django.setup()
from datetime import time
from checks.engine import NightWorker
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person
for slug, name in (("backby", "Backby kommun"), ("grannby", "Grannby kommun")):
    home = make_municipality(name, slug)
    for n, pnr in enumerate(TEST_PERSONNUMMER[:3]):
        make_person(home, f"Person {n}", personnummer=pnr, times=[time(22), time(2)])
NightWorker("seed").tick(clock.now())
print("seeded")
"""

# The plan (tonight, and tomorrow night after noon); states may move on with the restored worker's tick.
PLAN = "SELECT tenant_id, person_id, scheduled_at, form FROM checks_check ORDER BY 1, 2, 3"


def test_a_backup_restores_into_a_new_database_with_its_chain_and_its_night(tmp_path: Path) -> None:
    original, restored = f"nattillsyn_backup_{os.getpid()}", f"nattillsyn_restored_{os.getpid()}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("NATTILLSYN_")}
    env = {**base, "DB": "postgres", "PGHOST": "127.0.0.1", "PGUSER": "postgres", "PGDATABASE": original,
           "PYTHON": sys.executable, "DJANGO_SETTINGS_MODULE": "nattillsyn.settings"}  # fmt: skip
    for database in (original, restored):
        subprocess.run(["dropdb", "--if-exists", "--force", database], env=env, check=True)
    subprocess.run(["createdb", original], env=env, check=True)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        seeded = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, capture_output=True, text=True)
        assert "seeded" in seeded.stdout, seeded.stderr
        backup = subprocess.run(
            ["deploy/backup.sh", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        backup_dir = Path(backup.stdout.strip().splitlines()[-1])
        assert {p.name for p in backup_dir.iterdir()} == {"nattillsyn.dump", "audit-heads.jsonl", "MANIFEST.json"}
        manifest = (backup_dir / "MANIFEST.json").read_text()
        assert "demo-audit-key" not in manifest and '"NATTILLSYN_AUDIT_KEY"' in manifest  # where, never what
        drill = subprocess.run(
            ["deploy/restore-drill.sh", str(backup_dir), restored], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert drill.returncode == 0, drill.stdout + drill.stderr
        assert "restore.chain_verified: 1" in drill.stdout and "restore.worker_tick: ok" in drill.stdout
        print("\n" + drill.stdout)
        with psycopg.connect(dbname=original, host="127.0.0.1", user="postgres") as db:
            before = db.execute(PLAN).fetchall()
        with psycopg.connect(dbname=restored, host="127.0.0.1", user="postgres") as db:
            after = db.execute(PLAN).fetchall()
        # Tonight's plan, and tomorrow night's once the worker has ticked after noon (real time here).
        assert before and len(before) % (2 * 3 * 2) == 0 and after == before  # municipalities × persons × times
        # A tampered backup is refused before anything is restored.
        with open(backup_dir / "audit-heads.jsonl", "a") as heads:
            heads.write("\n")
        subprocess.run(["dropdb", "--if-exists", "--force", restored], env=env, check=True)
        tampered = subprocess.run(
            ["deploy/restore-drill.sh", str(backup_dir), restored], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert tampered.returncode != 0 and "does not match the manifest" in tampered.stderr
    finally:
        for database in (original, restored):
            subprocess.run(["dropdb", "--if-exists", "--force", database], env=env)
