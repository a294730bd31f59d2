#!/usr/bin/env bash
# The restore drill (docs/OPERATIONS.md, "Restore"): restore a backup into a NEW database,
# check it, and prove the night still works on it. Never touches the live database.
#   deploy/restore-drill.sh BACKUP_DIR NEW_DATABASE
# 1. the files match the manifest's SHA-256;
# 2. createdb NEW_DATABASE; pg_restore;
# 3. verify_audit_chain against the heads exported with the backup: every chain reaches
#    its exported head unchanged (needs the same NATTILLSYN_AUDIT_KEY);
# 4. migrate (a backup of an older release is brought up to this one);
# 5. one worker tick on the restored database (plans tonight if needed, makes due what is due).
# Prints restore.* lines; exits non-zero at the first failure.
set -euo pipefail
backup=${1:?usage: deploy/restore-drill.sh BACKUP_DIR NEW_DATABASE}
database=${2:?usage: deploy/restore-drill.sh BACKUP_DIR NEW_DATABASE}
python=${PYTHON:-.venv/bin/python}
if [ -n "${PGPASSWORD_FILE:-}" ] && [ -z "${PGPASSWORD:-}" ]; then PGPASSWORD=$(cat "$PGPASSWORD_FILE"); export PGPASSWORD; fi
"$python" - "$backup" <<'PY'
import hashlib, json, os, sys
backup = sys.argv[1]
manifest = json.load(open(os.path.join(backup, "MANIFEST.json")))
for name, digest in manifest["files"].items():
    with open(os.path.join(backup, name), "rb") as handle:
        if hashlib.sha256(handle.read()).hexdigest() != digest:
            sys.exit(f"{name}: does not match the manifest")
print(f"restore.files_checked: {len(manifest['files'])}")
PY
now() { date +%s.%N; }
since() { "$python" -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"; }
started=$(now)
createdb "$database"
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$database" "$backup/nattillsyn.dump"
echo "restore.pg_restore_s: $(since "$started")"
export PGDATABASE="$database" DB=postgres
"$python" manage.py verify_audit_chain --heads "$backup/audit-heads.jsonl"
echo "restore.chain_verified: 1"
"$python" manage.py migrate --noinput -v 0
"$python" manage.py run_worker --once --prober none --name restore-drill
echo "restore.worker_tick: ok"
echo "restore.total_s: $(since "$started")"
