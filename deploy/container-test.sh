#!/usr/bin/env bash
# The container definitions, run (docs/OPERATIONS.md): builds the application image from
# deploy/Containerfile and starts its processes as deploy/compose.yaml does (migrate, web,
# worker, gateway; the host's network; the secrets mounted where the example environment
# file points; the state volume) against this machine's PostgreSQL, then asks the web's
# /health (database and worker ok) and the gateway's. `make container-test`, as root,
# before a release; needs podman, runc and debootstrap (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."

# This test machine: crun refuses its hybrid cgroups (runc does not), and without
# CAP_SYS_RESOURCE podman's default limits cannot be set (lower ones can).
RUNTIME=(--runtime runc)
LIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
BASE=localhost/nattillsyn-base:bookworm
IMAGE=localhost/nattillsyn:test
DATABASE=nattillsyn_container_test
WORK=$(mktemp -d /tmp/nattillsyn-containers.XXXXXX)
NAMES=()

say() { echo "[$(date -u +%H:%M:%SZ)] $*" >&2; }
cleanup() {
    for name in "${NAMES[@]}"; do podman "${RUNTIME[@]}" rm -f -t 5 "$name" >/dev/null 2>&1 || true; done
    podman volume rm -f nattillsyn-test-state >/dev/null 2>&1 || true
    dropdb -h 127.0.0.1 -U postgres --if-exists "$DATABASE" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# No registry can be reached from here: the Debian 12 base is made from Debian's mirror.
if ! podman image exists "$BASE"; then
    say "base image: debootstrap bookworm (minbase)"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log"
    tar -C "$WORK/rootfs" -c . | podman import - "$BASE" >/dev/null
    rm -rf "$WORK/rootfs"
fi
started=$(date +%s)
say "build $IMAGE from deploy/Containerfile"
# This machine reaches PyPI through a TLS-inspecting proxy: pip gets the host's CA bundle.
podman build "${RUNTIME[@]}" "${LIMITS[@]}" --build-arg BASE="$BASE" \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/host-ca.crt:ro --build-arg PIP_CERT=/etc/ssl/host-ca.crt \
    -f deploy/Containerfile -t "$IMAGE" . \
    >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; exit 1; }
echo "container.build_s: $(( $(date +%s) - started ))"
echo "container.image_mb: $(( $(podman image inspect "$IMAGE" --format '{{.Size}}') / 1000000 ))"

# Fresh secrets, and the example environment with this machine's database (trusting
# local connections, so no password) and addresses.
mkdir -m 755 "$WORK/secrets"  # inside $WORK (700); the image runs as its own user
.venv/bin/python - "$WORK" <<'PY'
import secrets, sys
from pathlib import Path
from cryptography.fernet import Fernet
work = Path(sys.argv[1])
for name in ("secret_key", "grant_key", "gateway_token", "audit_key", "metrics_token"):
    (work / "secrets" / name).write_text(secrets.token_urlsafe(32) + "\n")
(work / "secrets" / "camera_credentials_key").write_text(Fernet.generate_key().decode() + "\n")
PY
chmod 644 "$WORK"/secrets/*
grep -v -e '^#' -e '^$' -e '^PGPASSWORD_FILE=' -e '^PGUSER=' -e '^PGDATABASE=' -e '^ALLOWED_HOSTS=' \
    deploy/nattillsyn.env.example >"$WORK/nattillsyn.env"
printf 'PGUSER=postgres\nPGDATABASE=%s\nALLOWED_HOSTS=127.0.0.1\n' "$DATABASE" >>"$WORK/nattillsyn.env"

dropdb -h 127.0.0.1 -U postgres --if-exists "$DATABASE"
createdb -h 127.0.0.1 -U postgres "$DATABASE"
COMMON=("${RUNTIME[@]}" run "${LIMITS[@]}" --network host --env-file "$WORK/nattillsyn.env"
        -v "$WORK/secrets:/etc/nattillsyn/secrets:ro" -v nattillsyn-test-state:/var/lib/nattillsyn)

say "migrate"
podman "${COMMON[@]}" --rm "$IMAGE" .venv/bin/python manage.py migrate --noinput -v 0
for process in web worker gateway; do
    NAMES+=("nattillsyn-test-$process")
done
say "web, worker, gateway"
podman "${COMMON[@]}" -d --name nattillsyn-test-web "$IMAGE" >/dev/null
podman "${COMMON[@]}" -d --name nattillsyn-test-worker "$IMAGE" .venv/bin/python manage.py run_worker >/dev/null
podman "${COMMON[@]}" -d --name nattillsyn-test-gateway -e GATEWAY_BIND=127.0.0.1:8010 "$IMAGE" \
    .venv/bin/python -m gateway >/dev/null

healthy() {  # URL, expected text; up to 60 s
    for _ in $(seq 120); do
        if curl -sf "$1" 2>/dev/null | grep -q "$2"; then return 0; fi
        sleep 0.5
    done
    return 1
}
ok=1
healthy http://127.0.0.1:8000/health '"worker": "ok"' && say "web: database ok, worker ok" || { say "web or worker not healthy"; ok=0; }
healthy http://127.0.0.1:8010/health '"status": "up"' && say "gateway: ok" || { say "gateway not healthy"; ok=0; }
# As the host's proxy sends it (production settings redirect plain HTTP to HTTPS).
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: 127.0.0.1' -H 'X-Forwarded-Proto: https' \
    -H 'X-Forwarded-For: 127.0.0.1' http://127.0.0.1:8000/login/)
[ "$code" = 200 ] && say "web: the login page served" || { say "web: the login page answered $code"; ok=0; }
if [ "$ok" = 0 ]; then
    for name in "${NAMES[@]}"; do echo "--- $name"; podman logs --tail 30 "$name" 2>&1; done
    curl -s http://127.0.0.1:8000/health || true
    echo "container.healthy: 0"
    exit 1
fi
echo "container.healthy: 1"
