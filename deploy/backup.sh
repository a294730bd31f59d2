#!/usr/bin/env bash
# A backup of one Nattillsyn installation (docs/OPERATIONS.md, "Backups").
#   deploy/backup.sh DIR       (run from the application directory, with its environment:
#                               set -a; . /etc/nattillsyn/nattillsyn.env; set +a)
# Writes DIR/nattillsyn-<UTC time>/ with
#   nattillsyn.dump      pg_dump, custom format (pg_restore reads it; consistent snapshot)
#   audit-heads.jsonl    every audit chain's head, exported just before the dump: the
#                        restored log must reach these heads unchanged (verify_audit_chain --heads)
#   MANIFEST.json        when, which code, which migrations, which secrets the restore
#                        needs and where they live (their locations, never their values),
#                        and the files' SHA-256.
# The secrets themselves are not in the backup: keep them in the site's secret store.
set -euo pipefail
dest_root=${1:?usage: deploy/backup.sh DIR}
python=${PYTHON:-.venv/bin/python}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dest="$dest_root/nattillsyn-$stamp"
mkdir -p "$dest"
chmod 700 "$dest"
# 1. The heads first: every entry they name is then in the dump that follows.
"$python" manage.py export_audit_head --to "$dest/audit-heads.jsonl" >/dev/null
if [ -n "${AUDIT_HEAD_EXPORT_PATH:-}" ] && [ -f "$AUDIT_HEAD_EXPORT_PATH" ]; then
    # The installation's own append-only history of heads, for the auditor.
    cp "$AUDIT_HEAD_EXPORT_PATH" "$dest/audit-heads-history.jsonl"
fi
# 2. The database (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD[_FILE] from the environment).
if [ -n "${PGPASSWORD_FILE:-}" ] && [ -z "${PGPASSWORD:-}" ]; then PGPASSWORD=$(cat "$PGPASSWORD_FILE"); export PGPASSWORD; fi
pg_dump --format=custom --no-owner --no-privileges --file="$dest/nattillsyn.dump" "${PGDATABASE:-nattillsyn}"
# 3. What a restore needs to know.
"$python" - "$dest" <<'PY'
import hashlib, json, os, subprocess, sys
from datetime import datetime, timezone
dest = sys.argv[1]
secrets = ["SECRET_KEY", "NATTILLSYN_GRANT_KEY", "NATTILLSYN_GATEWAY_TOKEN", "NATTILLSYN_CAMERA_CREDENTIALS_KEY",
           "NATTILLSYN_AUDIT_KEY", "NATTILLSYN_METRICS_TOKEN", "PGPASSWORD"]
def revision():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
migrations = subprocess.run([os.environ.get("PYTHON", ".venv/bin/python"), "manage.py", "showmigrations", "--plan"],
                            capture_output=True, text=True, check=True).stdout.split("\n")
manifest = {
    "made_at": datetime.now(timezone.utc).isoformat(),
    "code_revision": revision(),
    "database": os.environ.get("PGDATABASE", "nattillsyn"),
    "migrations_applied": [line[5:] for line in migrations if line.startswith(" [X] ")],
    "secrets_needed": {name: (f"file {os.environ[name + '_FILE']}" if os.environ.get(name + "_FILE")
                              else "environment variable" if os.environ.get(name) else "not set")
                       for name in secrets},
    "note": "The camera credentials key decrypts the cameras' passwords and the audit key verifies the log: "
            "a restore without them loses both. They are not in this backup.",
    "files": {},
}
for name in sorted(os.listdir(dest)):
    with open(os.path.join(dest, name), "rb") as handle:
        manifest["files"][name] = hashlib.sha256(handle.read()).hexdigest()
with open(os.path.join(dest, "MANIFEST.json"), "w") as handle:
    json.dump(manifest, handle, indent=2)
print(dest)
PY
