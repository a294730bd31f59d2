"""Helpers shared by the benchmarks.

- A PostgreSQL database of the benchmark's own on 127.0.0.1:5432 (user postgres, or the
  PG* variables), Django set up on it, and a municipality made by the database
  (``bulk_world_sql``, ``bench_municipality``; ``bulk_load`` for other bulk loads);
  the database is dropped at the end unless ``--keep`` is given.
- Processes on loopback: simcam, the camera gateway with a tiny control plane of the
  benchmark's own (``BenchControlPlane``), Debian's Chromium (``CHROMIUM``,
  ``CHROMIUM_ARGS``), and their CPU from /proc.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # a benchmark runs as a script, from benchmarks/

from e2e.chromium import CHROMIUM as CHROMIUM  # noqa: E402  (the path above first; re-exported)
from e2e.chromium import CHROMIUM_ARGS as CHROMIUM_ARGS  # noqa: E402


def say(message: str) -> None:
    """Progress on stderr, stamped in UTC (Django's setup would otherwise switch the
    process's local time to Stockholm halfway through a run)."""
    print(f"[{time.strftime('%H:%M:%SZ', time.gmtime())}] {message}", file=sys.stderr, flush=True)


def machine_load() -> str:
    """The load average, said with the figures: other work on the machine slows them."""
    with open("/proc/loadavg") as handle:
        return "load average " + " ".join(handle.read().split()[:3])


def headline(name: str, value: object) -> None:
    """The figures a benchmark is read for, as ``name: value`` on stdout."""
    print(f"{name}: {value}", flush=True)


def pg_params(database: str = "postgres") -> dict[str, Any]:
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", "postgres"),
        "dbname": database,
    }


def admin_connection():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(**pg_params(), autocommit=True)


def recreate_database(database: str) -> None:
    from psycopg import sql

    with admin_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def drop_database(database: str) -> None:
    from psycopg import sql

    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django not set up in this process
        pass
    with admin_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def django_env(database: str, **extra: str) -> dict[str, str]:
    """The environment for this process and its children: PostgreSQL ``database``."""
    env = dict(os.environ)
    env.update(
        {
            "DB": "postgres",
            "PGDATABASE": database,
            "PGHOST": env.get("PGHOST", "127.0.0.1"),
            "PGUSER": env.get("PGUSER", "postgres"),
            "DJANGO_SETTINGS_MODULE": "nattillsyn.settings",
            "LOG_LEVEL": env.get("LOG_LEVEL", "WARNING"),
            # Nothing listens there: the gateway's "prepare" fails at once, as it may in production.
            "NATTILLSYN_GATEWAY_URL": "http://127.0.0.1:9",
            "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}",
        }
    )
    env.update(extra)
    return env


def setup_django(database: str, **extra: str) -> None:
    os.environ.update(django_env(database, **extra))
    for path in (str(ROOT / "benchmarks"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()


def migrate(database: str) -> float:
    """``manage.py migrate`` against ``database`` in a child process; returns seconds."""
    started = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=django_env(database), check=True)
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def totp_code(secret_base32: str, at: float | None = None) -> str:
    """The code the test users' authenticator app shows (RFC 6238 by pyotp, as the login checks it)."""
    import pyotp

    return pyotp.TOTP(secret_base32).at(time.time() if at is None else at)


def bulk_world_sql(
    cursor: Any,
    *,
    tenant: int,
    persons: int,
    users: dict[str, int],
    now: Any,
    times: tuple[str, ...] = ("22:00", "01:00", "04:00"),
    slots: int = 6,
    step_min: int = 10,
    offline_every: int = 0,
) -> None:
    """Persons with a decision, consent, tested camera and three agreed camera times,
    made by the database (INSERT … SELECT generate_series), not the ORM.

    ``users``: ids for case_officer, planner, installer and operator. Variety, so the
    planner meets every branch: every 50th person has no consent (a visit), every 97th
    an untested camera, every 200th a hospital absence tonight. Each of ``times`` is
    moved by (person id mod ``slots``) × ``step_min`` minutes, so the checks spread over
    the night. With ``offline_every``, every so many cameras are offline (simulated
    scenario "offline", which ``scenario_probe`` reports as a fault).
    """
    _model_defaults_in_database(cursor)
    params = {
        "tenant": tenant,
        "persons": persons,
        "now": now,
        "times": list(times),
        "slots": slots,
        "step": step_min,
        "offline_every": offline_every or 1_000_000_000,
        **users,
    }
    cursor.execute(
        """
        INSERT INTO people_person (tenant_id, name, personnummer, unit, address, phone, relative_name,
                                   relative_phone, entry_notes, created_at)
        SELECT %(tenant)s, 'Person ' || n, lpad(n::text, 12, '0'), 'Område ' || (n %% 20 + 1),
               'Vägen ' || n, '', '', '', '', %(now)s
        FROM generate_series(1, %(persons)s) AS n""",
        params,
    )
    cursor.execute(
        """
        INSERT INTO people_decision (person_id, decided_on, valid_from, valid_to, review_on, reference,
                                     decided_by_id, created_at)
        SELECT id, (%(now)s::timestamptz - interval '30 days')::date,
               (%(now)s::timestamptz - interval '30 days')::date, NULL, NULL, '', %(case_officer)s, %(now)s
        FROM people_person WHERE tenant_id = %(tenant)s""",
        params,
    )
    cursor.execute(
        """
        INSERT INTO people_consent (person_id, given_by, method, given_at, valid_until, documented_by_id,
                                    withdrawn_at, withdrawn_by_id, withdrawal_note)
        SELECT id, name, 'written', %(now)s::timestamptz - interval '20 days', NULL, %(planner)s, NULL, NULL, ''
        FROM people_person WHERE tenant_id = %(tenant)s AND id %% 50 <> 0""",
        params,
    )
    cursor.execute(
        """
        INSERT INTO cameras_camera (tenant_id, person_id, name, model, driver, stream_url, username,
                                    password_encrypted, placement_note, simulated_scenario, training_only,
                                    last_probe_problem)
        SELECT tenant_id, id, 'cam-' || id, 'Bench', 'generic_rtsp', 'rtsp://127.0.0.1:9/cam' || id, '', '', '',
               CASE WHEN id %% %(offline_every)s = 3 THEN 'offline' ELSE '' END, false, ''
        FROM people_person WHERE tenant_id = %(tenant)s""",
        params,
    )
    cursor.execute(
        """
        INSERT INTO cameras_installationtest (camera_id, person_id, performed_at, installer_id, operator_id,
                                              passed, notes)
        SELECT id, person_id, %(now)s::timestamptz - interval '10 days', %(installer)s, %(operator)s, true, ''
        FROM cameras_camera WHERE tenant_id = %(tenant)s AND person_id %% 97 <> 0""",
        params,
    )
    cursor.execute(
        """
        INSERT INTO checks_agreement (person_id, retry_delay_min, notes, updated_at)
        SELECT id, 15, '', %(now)s::timestamptz - interval '1 day'
        FROM people_person WHERE tenant_id = %(tenant)s""",
        params,
    )
    cursor.execute(
        """
        INSERT INTO checks_agreedtime (agreement_id, time, form, created_at)
        SELECT a.id, t.base::time + (a.person_id %% %(slots)s) * %(step)s * interval '1 minute', 'camera',
               %(now)s::timestamptz - interval '1 day'
        FROM checks_agreement a
        JOIN people_person p ON p.id = a.person_id AND p.tenant_id = %(tenant)s
        CROSS JOIN unnest(%(times)s::text[]) AS t(base)""",
        params,
    )
    cursor.execute(
        """
        INSERT INTO checks_escalationstep (agreement_id, "order", kind)
        SELECT a.id, 0, 'visit' FROM checks_agreement a
        JOIN people_person p ON p.id = a.person_id AND p.tenant_id = %(tenant)s""",
        params,
    )
    cursor.execute(
        """
        INSERT INTO people_absence (person_id, kind, starts_at, ends_at, note, created_by_id)
        SELECT id, 'hospital', %(now)s::timestamptz - interval '1 day', %(now)s::timestamptz + interval '3 days',
               '', %(planner)s
        FROM people_person WHERE tenant_id = %(tenant)s AND id %% 200 = 0""",
        params,
    )
    cursor.execute("ANALYZE")


def last_whole_month(today: Any) -> Any:
    """The first day of the last whole month before ``today`` (a date)."""
    from datetime import timedelta

    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


class IndexesLater:
    """Drop a table's indexes and unique constraints (not its primary key) for a bulk load
    and build them again afterwards: one sort per index instead of millions of inserts."""

    def __init__(self, cursor: Any, table: str) -> None:
        self.cursor, self.table = cursor, table
        self.indexes: list[tuple[str, str]] = []
        self.uniques: list[tuple[str, str]] = []

    def __enter__(self) -> None:
        self.cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [self.table],
        )
        self.indexes = list(self.cursor.fetchall())
        self.cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'u'",
            [self.table],
        )
        self.uniques = list(self.cursor.fetchall())
        for name, _definition in self.indexes:
            self.cursor.execute(f'DROP INDEX "{name}"')
        for name, _definition in self.uniques:
            self.cursor.execute(f'ALTER TABLE "{self.table}" DROP CONSTRAINT "{name}"')

    def __exit__(self, *exc: object) -> None:
        for name, definition in self.uniques:
            self.cursor.execute(f'ALTER TABLE "{self.table}" ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in self.indexes:
            self.cursor.execute(definition)


class ModelDefaultsInDatabase:
    """For the load, give each NOT NULL column without a database default the default the
    model would give it, so a column another app adds later needs no change here."""

    def __init__(self, cursor: Any, *models: Any) -> None:
        self.cursor, self.models = cursor, models
        self.columns: list[tuple[str, str]] = []

    def __enter__(self) -> None:
        from django.db import connection

        editor = connection.schema_editor()
        for model in self.models:
            table = model._meta.db_table
            self.cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND "
                "column_default IS NULL AND is_nullable = 'NO'",
                [table],
            )
            bare = {row[0] for row in self.cursor.fetchall()}
            for model_field in model._meta.concrete_fields:
                value = editor.effective_default(model_field)
                if model_field.column in bare and not model_field.primary_key and value is not None:
                    self.cursor.execute(
                        f'ALTER TABLE "{table}" ALTER COLUMN "{model_field.column}" '
                        f"SET DEFAULT {editor.quote_value(value)}"
                    )
                    self.columns.append((table, model_field.column))

    def __exit__(self, *exc: object) -> None:
        for table, column in self.columns:
            self.cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" DROP DEFAULT')


# For a bulk load of a period of nights, after ``FROM people_person p``: a row per person,
# night (``night``: ``%(first)s`` and the ``%(nights)s`` - 1 after it) and agreed time
# (22:00, 01:00 and 04:00; every 4th person not at 01:00), with ``at`` the agreed instant
# and ``r`` a random draw in [0, 1).
EACH_NIGHT_AND_AGREED_TIME = """
            CROSS JOIN generate_series(0, %(nights)s - 1) AS d
            CROSS JOIN LATERAL (SELECT (%(first)s::date + d) AS night) n
            CROSS JOIN LATERAL unnest(CASE WHEN p.id %% 4 = 0 THEN ARRAY[time '22:00', time '04:00']
                                           ELSE ARRAY[time '22:00', time '01:00', time '04:00'] END) AS t(agreed)
            CROSS JOIN LATERAL (SELECT ((night + CASE WHEN agreed < time '12:00' THEN 1 ELSE 0 END + agreed)
                                        AT TIME ZONE 'Europe/Stockholm') AS at, random() AS r) x
"""


def check_view_grants_step(
    *, redeemed_s: int, first_frame_s: int, watched_s: str, end_reason: str
) -> tuple[str, str, str]:
    """A ``bulk_load`` step: each attempt's view grant, redeemed ``redeemed_s`` and first
    framed ``first_frame_s`` seconds after the attempt was opened, watched for
    ``watched_s`` seconds (an SQL expression), ended for ``end_reason``."""
    return (
        "view grants",
        "cameras_viewgrant",
        f"""
        INSERT INTO cameras_viewgrant (gid, tenant_id, camera_id, person_id, attempt_id, operator_id, purpose,
                                       issued_at, start_by, hard_end, max_view_s, redeemed_at, revoke_reason,
                                       first_frame_at, ended_at, end_reason, bytes_sent, transcoded,
                                       camera_returned_to_privacy)
        SELECT lpad(to_hex(a.id), 32, '0')::uuid, c.tenant_id, cam.id, c.person_id, a.id, a.operator_id, 'check',
               a.opened_at, a.opened_at + interval '2 minutes', a.opened_at + interval '3 minutes', 30,
               a.opened_at + {redeemed_s} * interval '1 second', '',
               a.opened_at + {first_frame_s} * interval '1 second',
               a.opened_at + ({first_frame_s} + {watched_s}) * interval '1 second', '{end_reason}', 250000, false, true
        FROM checks_attempt a JOIN checks_check c ON c.id = a.night_check_id
        JOIN cameras_camera cam ON cam.person_id = c.person_id""",
    )


def bulk_load(
    cursor: Any, steps: Sequence[tuple[str, str | None, str]], params: dict[str, Any], models: Sequence[Any]
) -> dict[str, int]:
    """Run ``steps`` (name, table whose indexes to build after it or None, INSERT … SELECT
    statement) with ``params``, as a restore would: foreign-key triggers off (the rows are
    ours by construction), no waiting for the disk, ``models``' defaults in the database
    for the load. Returns the rows each step made."""
    counts: dict[str, int] = {}
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SET maintenance_work_mem = '512MB'")
    cursor.execute("SET session_replication_role = replica")
    with ModelDefaultsInDatabase(cursor, *models):
        for name, table, statement in steps:
            started = time.perf_counter()
            with IndexesLater(cursor, table) if table else contextlib.nullcontext():
                cursor.execute(statement, params)
                counts[name] = cursor.rowcount
            say(f"  {name}: {counts[name]:,} rows in {time.perf_counter() - started:.1f} s")
    cursor.execute("SET session_replication_role = DEFAULT")
    return counts


TEXT_FIELDS = ("CharField", "TextField", "SlugField", "URLField", "EmailField")


def _model_defaults_in_database(cursor: Any) -> None:
    """Give every column with a plain model default that default in the (benchmark's own)
    database, so the INSERTs here name only the columns they mean and keep working when
    a model gains a field."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            default = field.default if field.has_default() else None
            if default is None and field.blank and not field.null and field.get_internal_type() in TEXT_FIELDS:
                default = ""  # what the ORM writes for a blank text field without a default
            if default is None or callable(default) or field.primary_key:
                continue
            if isinstance(default, bool):
                literal = "TRUE" if default else "FALSE"
            elif isinstance(default, int | float):
                literal = repr(default)
            elif isinstance(default, str):
                literal = "'" + default.replace("'", "''") + "'"
            else:
                continue
            cursor.execute(f'ALTER TABLE "{model._meta.db_table}" ALTER COLUMN "{field.column}" SET DEFAULT {literal}')


BENCH_PASSWORD = "bench-password-long"


def evening(hour: int = 21) -> Any:
    """Today at ``hour``:00 in Stockholm (an aware datetime): where a benchmark's night begins."""
    from datetime import datetime

    from nattillsyn import clock

    today = clock.today()
    return datetime(today.year, today.month, today.day, hour, 0, tzinfo=clock.STOCKHOLM)


def bench_municipality(
    name: str, slug: str, *, persons: int, now: Any, prefix: str | None = None, **world: Any
) -> tuple[Any, dict[str, Any]]:
    """A municipality ``name`` of ``persons`` persons made by ``bulk_world_sql`` (``world``:
    its other options), and one user in each role (``make_bench_users``, password
    ``BENCH_PASSWORD``). Returns the tenant and the users by role."""
    from django.db import connection

    from accounts.models import Tenant

    tenant = Tenant.objects.create(name=name, slug=slug)
    users = make_bench_users(tenant, prefix or slug, BENCH_PASSWORD)
    with connection.cursor() as cursor:
        bulk_world_sql(
            cursor,
            tenant=tenant.id,
            persons=persons,
            users={role: users[role].id for role in ("case_officer", "planner", "installer", "operator")},
            now=now,
            **world,
        )
    return tenant, users


def make_bench_users(tenant: Any, prefix: str, password: str) -> dict[str, Any]:
    """One user in each role the world needs, each with a confirmed authenticator app."""
    from accounts.models import Role
    from nattillsyn.testing import make_user

    users = {}
    for role in (Role.CASE_OFFICER, Role.PLANNER, Role.INSTALLER, Role.OPERATOR, Role.PATROL, Role.SHIFT_LEAD):
        users[str(role)] = make_user(f"{prefix}-{role}", tenant, role)
        users[str(role)].set_password(password)
        users[str(role)].save(update_fields=["password"])
    return users


def scenario_probe(camera: Any) -> Any:
    """A camera health probe without a network: a simulated camera in the "offline"
    scenario is faulty, any other works (``run_worker --prober _common.scenario_probe``)."""
    from cameras.health import ProbeResult

    if camera.simulated_scenario == "offline":
        return ProbeResult(False, "stream_offline")
    return ProbeResult(True, "")


# -- processes on loopback: simcam, the gateway and its control plane, Chromium -----------

SYSTEM_PYTHON = "/usr/bin/python3"  # simcam needs Debian's GStreamer bindings
GRANT_KEY = "benchmark-grant-key"
GATEWAY_TOKEN = "benchmark-gateway-token"


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def process_cpu_s(pid: int) -> float:
    """CPU seconds (utime + stime, all threads) a process on this machine has used, from
    /proc/<pid>/stat: a child, or a PostgreSQL backend (``SELECT pg_backend_pid()``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen[Any], timeout_s: float = 10.0) -> None:
    """SIGTERM to a process started with ``start_new_session=True`` and its group; SIGKILL
    if it has not ended within ``timeout_s``."""
    import contextlib
    import signal

    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def simcam_url(port: int, host: str = "127.0.0.1") -> str:
    return f"rtsp://demo:demo@{host}:{port}/cam1"


@contextlib.contextmanager
def simcam(
    size: str, fps: int, keyint_s: float, *, prefix: Sequence[str] = (), bind: str | None = None, start_s: float = 30
) -> Iterator[int]:
    """simcam with one sleeping resident (camera ``cam1``, user and password ``demo``);
    yields its RTSP port. ``prefix`` runs it under another command (``ip netns exec NS``),
    ``bind`` on another address."""
    import re
    import select

    command = [*prefix, SYSTEM_PYTHON, "-m", "simcam", *(["--bind", bind] if bind else []), "--rtsp-port", "0",
               "--api-port", "0", "--size", size, "--fps", str(fps), "--keyint", str(keyint_s),
               "--user", "demo", "--password", "demo", "cam1:asleep"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + start_s
        while time.monotonic() < deadline:
            readable = select.select([process.stdout], [], [], 0.5)[0]
            if readable and (match := re.search(r"simcam ready rtsp=(\d+)", process.stdout.readline())):
                break
            if process.poll() is not None:
                raise RuntimeError("simcam exited")
        else:
            raise RuntimeError("simcam did not start")
        process.stdout.close()
        yield int(match[1])
    finally:
        stop_process(process)


@dataclass
class GatewayProcess:
    url: str
    process: subprocess.Popen[Any]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.asynccontextmanager
async def gateway(control_url: str, origin: str, **settings: str) -> AsyncIterator[GatewayProcess]:
    """The camera gateway (``python -m gateway``) on a free loopback port, talking to the
    control plane at ``control_url``; ``settings``: more of its environment."""
    import asyncio

    import aiohttp

    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "NATTILLSYN_CONTROL_URL": control_url,
        "NATTILLSYN_GRANT_KEY": GRANT_KEY,
        "NATTILLSYN_GATEWAY_TOKEN": GATEWAY_TOKEN,
        "GATEWAY_ID": "gw-bench",
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_ALLOWED_ORIGINS": origin,
        **settings,
    }
    # Logs go to a pipe we never read into a file, so write_bytes counts only what the
    # gateway itself would store; DEVNULL keeps a chatty log from blocking it.
    debug_log = os.environ.get("LIVE_VIEW_GATEWAY_LOG")  # a file for the gateway's log, when debugging
    with open(debug_log, "a") if debug_log else contextlib.nullcontext(subprocess.DEVNULL) as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stderr=stderr, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{url}/health") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("gateway did not start")
        yield GatewayProcess(url, process)
    finally:
        await asyncio.to_thread(stop_process, process)


# The part of the benchmarks' WHEP test pages they share, run after the page's own script:
# the page declares ``video``, ``pc``, ``sessionUrl`` and ``token`` and ``openView(clickedAt)``,
# which calls ``startViewer`` and ``postOffer``; the benchmark sets ``token``, clicks
# "view", waits for ``window.result`` and calls ``closeView()``.
WHEP_PAGE_SCRIPT = """
"use strict";
async function startViewer(iceServers, waitForCandidates) {
  pc = new RTCPeerConnection({ iceServers: iceServers });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (event) => { video.srcObject = new MediaStream([event.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await waitForCandidates(pc);
}

// The offer to the gateway's WHEP endpoint: the answer's SDP, or null (window.result says why).
async function postOffer() {
  const response = await fetch(GATEWAY + "/whep", {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: "Bearer " + token },
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) { window.result = { error: response.status }; return null; }
  sessionUrl = new URL(response.headers.get("Location"), GATEWAY).href;
  return await response.text();
}

async function closeView() {
  if (pc) { pc.close(); pc = null; }
  video.srcObject = null;
  if (sessionUrl) {
    await fetch(sessionUrl, { method: "DELETE", headers: { Authorization: "Bearer " + token } });
    sessionUrl = null;
  }
}

document.getElementById("view").addEventListener("click", () => {
  window.result = null;
  openView(performance.now()).catch((error) => { window.result = { error: String(error) }; });
});
"""


@dataclass
class BenchControlPlane:
    """Signs grants and answers the gateway like the real control plane would, and serves
    ``page`` (a WHEP test page; the gateway's address is given to it as ``GATEWAY``,
    ``WHEP_PAGE_SCRIPT`` follows it)."""

    page: str = ""
    rtsp_url: str = ""
    sub_url: str = ""  # the camera's sub stream, if it has one
    gateway_url: str = ""
    page_constants: dict[str, Any] = dataclass_field(default_factory=dict)  # more constants for the page's script
    events: list[dict[str, Any]] = dataclass_field(default_factory=list)
    url: str = ""

    def grant(self, max_view_s: int = 30, valid_s: float = 120.0) -> tuple[str, str]:
        import uuid

        from gateway.grants import Grant, sign_grant

        now = time.time()
        gid = uuid.uuid4().hex
        grant = Grant(
            gid, "gw-bench", 1, 1, 1, 1, 1, "check", now - 1, now + valid_s, now + valid_s + max_view_s, max_view_s
        )
        return gid, sign_grant(grant, GRANT_KEY.encode())

    async def _page(self, _request: Any) -> Any:
        import json

        from aiohttp import web

        constants = {"GATEWAY": self.gateway_url, **self.page_constants}
        script = "<script>" + " ".join(f"const {k} = {json.dumps(v)};" for k, v in constants.items()) + "</script>"
        page = script + self.page + "<script>" + WHEP_PAGE_SCRIPT + "</script>"
        return web.Response(text=page, content_type="text/html")

    async def _grant(self, request: Any) -> Any:
        from aiohttp import web

        _, token = self.grant(int(request.query.get("max_view_s", "30")), float(request.query.get("valid_s", "120")))
        return web.json_response({"grant": token})

    async def _redeem(self, _request: Any) -> Any:
        from aiohttp import web

        answer = {"rtsp_url": self.rtsp_url, "rtsp_transport": "tcp"}
        if self.sub_url:
            answer["sub_rtsp_url"] = self.sub_url
        return web.json_response(answer)

    async def _revoked(self, _request: Any) -> Any:
        from aiohttp import web

        return web.json_response({"revoked": []})

    async def _event(self, request: Any) -> Any:
        from aiohttp import web

        self.events.append(await request.json())
        return web.json_response({})

    @contextlib.asynccontextmanager
    async def serving(self, host: str = "127.0.0.1") -> AsyncIterator[str]:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/grant", self._grant)
        app.router.add_post("/internal/gateway/redeem", self._redeem)
        app.router.add_post("/internal/gateway/revoked", self._revoked)
        app.router.add_post("/internal/gateway/events", self._event)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port(host)
        await web.TCPSite(runner, host, port).start()
        self.url = f"http://{host}:{port}"
        try:
            yield self.url
        finally:
            await runner.cleanup()

    async def prepare(self, token: str) -> None:
        """What the control plane does when a check is opened: the gateway readies the camera."""
        import aiohttp

        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{self.gateway_url}/internal/prepare",
                json={"grant": token, "rtsp_url": self.rtsp_url, "rtsp_transport": "tcp"},
                headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"},
            )
            assert response.status == 202, await response.text()
