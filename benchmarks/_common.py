"""Helpers shared by the reliability benchmarks (chaos_night, load_web, scale_plan).

Each benchmark builds a PostgreSQL database of its own on 127.0.0.1:5432 (user
postgres, or the PG* variables), runs on loopback only and drops the database at
the end unless ``--keep`` is given.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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
