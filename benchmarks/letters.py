"""How long a municipality's month of letters "who looked at me" takes (docs/PERFORMANCE.md).

Builds a PostgreSQL database of its own (default ``bench_letters`` on 127.0.0.1:5432,
user postgres) with one municipality of ``--persons`` persons (10,000; 1,000 with
``--quick``) and one month of nights: 2–3 agreed camera times a night, the first attempt
seen at once mostly, some retries (a second attempt after "not visible") and visits of
the night patrol, every 10th person a skipped night, every 20th an installation test.
The rows are made by the database (INSERT … SELECT), as benchmarks/report_monthly.py does.

Then it runs the real batch (``letters.actions.run_batch``, what ``manage.py
produce_letters`` and the page's batch run): every person's letter for the month into one
PDF for printing, one audit entry per letter. Prints ``letters.batch_10k_s`` (or
``letters.batch_s`` for another size), the seconds per letter, queries per chunk of
persons and the file's size.

    .venv/bin/python benchmarks/letters.py            # 10,000 persons
    .venv/bin/python benchmarks/letters.py --quick    # 1,000 persons
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the letters app: the project root must come first on the path.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "benchmarks"]
sys.path[0:0] = [str(ROOT), str(ROOT / "benchmarks")]

from _common import (  # noqa: E402
    EACH_NIGHT_AND_AGREED_TIME,
    bulk_load,
    check_view_grants_step,
    drop_database,
    headline,
    last_whole_month,
    machine_load,
    peak_rss_mb,
    process_cpu_s,
    recreate_database,
    say,
    setup_django,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=None, help="persons (10000; 1000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="1,000 persons")
    parser.add_argument("--database", default="bench_letters")
    parser.add_argument("--keep", action="store_true", help="leave the database afterwards")
    return parser.parse_args()


def generate(persons: int, month: date) -> dict[str, int]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Membership, Role, Tenant
    from cameras.models import Camera, ViewGrant
    from checks.models import Attempt, Check, Escalation
    from people.models import Absence, Person

    tenant = Tenant.objects.create(name="Benchby kommun", slug="benchby", contact_phone="0611-123 45")
    users = get_user_model()
    officer = users.objects.create_user("bench-officer", password="bench-password-long")
    Membership.objects.create(user=officer, tenant=tenant, role=Role.CASE_OFFICER)
    operator = users.objects.create_user("bench-operator", first_name="Olle", last_name="Operatör")
    patrol = users.objects.create_user("bench-patrol")
    following = (month + timedelta(days=32)).replace(day=1)
    params = {
        "tenant": tenant.id,
        "operator": operator.id,
        "patrol": patrol.id,
        "officer": officer.id,
        "persons": persons,
        "first": month,
        "nights": (following - month).days,
    }
    steps = [
        (
            "persons",
            None,
            """
            INSERT INTO people_person (tenant_id, name, personnummer, unit, address, phone, relative_name,
                                       relative_phone, entry_notes, created_at)
            SELECT %(tenant)s, 'Person ' || n, lpad(n::text, 12, '0'), '', 'Vägen ' || n || ', 123 45 Benchby',
                   '', '', '', '', now()
            FROM generate_series(1, %(persons)s) AS n""",
        ),
        (
            "cameras",
            None,
            """
            INSERT INTO cameras_camera (tenant_id, person_id, name, model, driver, stream_url, username,
                                        password_encrypted, placement_note, simulated_scenario, training_only,
                                        last_probe_problem)
            SELECT tenant_id, id, 'cam-' || id, 'Sim', 'simulated', 'rtsp://127.0.0.1:9/cam', '', '', '', '',
                   false, ''
            FROM people_person WHERE tenant_id = %(tenant)s""",
        ),
        (
            "checks",
            "checks_check",
            """
            INSERT INTO checks_check (tenant_id, person_id, night, scheduled_at, form, form_note, state, due_at,
                                      window_ends_at, not_visible_count, overdue_alarm_raised, camera_fault,
                                      ended_at, end_reason)
            SELECT p.tenant_id, p.id, night, at, 'camera', '', CASE WHEN r < 0.95 THEN 'done' ELSE 'escalated' END,
                   at, at + interval '60 minutes', CASE WHEN r >= 0.9 THEN 1 ELSE 0 END, false, '',
                   at + interval '3 minutes', CASE WHEN r < 0.9 THEN 'seen_ok' ELSE 'not_visible' END
            FROM people_person p"""
            + EACH_NIGHT_AND_AGREED_TIME
            + """
            WHERE p.tenant_id = %(tenant)s""",
        ),
        (
            "attempts",
            "checks_attempt",
            """
            INSERT INTO checks_attempt (night_check_id, operator_id, opened_at, outcome, outcome_at)
            SELECT id, %(operator)s, scheduled_at + random() * interval '5 minutes',
                   CASE WHEN not_visible_count > 0 THEN 'not_visible' ELSE 'seen_ok' END,
                   scheduled_at + interval '6 minutes'
            FROM checks_check""",
        ),
        (
            "retries",
            None,
            """
            INSERT INTO checks_attempt (night_check_id, operator_id, opened_at, outcome, outcome_at)
            SELECT id, %(operator)s, scheduled_at + interval '20 minutes',
                   CASE WHEN state = 'done' THEN 'seen_ok' ELSE 'not_visible' END, scheduled_at + interval '21 minutes'
            FROM checks_check WHERE not_visible_count > 0""",
        ),
        check_view_grants_step(
            redeemed_s=1, first_frame_s=2, watched_s="(15 + random() * 15)", end_reason="outcome_recorded"
        ),
        (
            "installation tests",
            None,
            """
            INSERT INTO cameras_viewgrant (gid, tenant_id, camera_id, person_id, operator_id, purpose, issued_at,
                                           start_by, hard_end, max_view_s, redeemed_at, revoke_reason, ended_at,
                                           end_reason, bytes_sent, transcoded, camera_returned_to_privacy)
            SELECT gen_random_uuid(), tenant_id, id, person_id, %(operator)s, 'install_test',
                   (%(first)s::date + 1 + time '14:00') AT TIME ZONE 'Europe/Stockholm',
                   (%(first)s::date + 1 + time '14:02') AT TIME ZONE 'Europe/Stockholm',
                   (%(first)s::date + 1 + time '14:05') AT TIME ZONE 'Europe/Stockholm', 30,
                   (%(first)s::date + 1 + time '14:00') AT TIME ZONE 'Europe/Stockholm', '',
                   (%(first)s::date + 1 + time '14:01') AT TIME ZONE 'Europe/Stockholm', 'viewer_closed', 0, false,
                   true
            FROM cameras_camera WHERE person_id %% 20 = 0""",
        ),
        (
            "visits",
            "checks_escalation",
            """
            INSERT INTO checks_escalation (tenant_id, person_id, night_check_id, cause, plan, state, created_at,
                                           acknowledged_at, acknowledged_by_id, ack_alarm_raised, result,
                                           result_note, resolved_at, resolved_by_id)
            SELECT tenant_id, person_id, id, 'not_visible', '["visit"]'::jsonb, 'resolved',
                   scheduled_at + interval '22 minutes', scheduled_at + interval '24 minutes', %(patrol)s, false,
                   'visited_ok', '', scheduled_at + interval '45 minutes', %(patrol)s
            FROM checks_check WHERE state = 'escalated'""",
        ),
        (
            "skipped nights",
            None,
            """
            INSERT INTO people_absence (person_id, kind, starts_at, ends_at, note, created_by_id)
            SELECT id, 'skip_night', (%(first)s::date + 11 + time '20:00') AT TIME ZONE 'Europe/Stockholm',
                   (%(first)s::date + 12 + time '12:00') AT TIME ZONE 'Europe/Stockholm', '', %(officer)s
            FROM people_person WHERE id %% 10 = 0""",
        ),
    ]
    with connection.cursor() as cursor:
        counts = bulk_load(cursor, steps, params, (Person, Camera, Check, Attempt, ViewGrant, Escalation, Absence))
        cursor.execute("VACUUM (ANALYZE)")
    return counts


def main() -> None:
    args = parse_args()
    persons = args.persons or (1_000 if args.quick else 10_000)
    month = last_whole_month(datetime.now(ZoneInfo("Europe/Stockholm")).date())
    recreate_database(args.database)
    letters_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-letters-{os.getpid()}"
    setup_django(args.database, NATTILLSYN_LETTERS_DIR=str(letters_dir))
    try:
        from django.core.management import call_command
        from django.db import connection

        from letters import actions
        from letters.models import LetterBatch

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        say(f"migrate: {time.perf_counter() - started:.1f} s")
        say(f"one month ({month:%Y-%m}) for {persons:,} persons")
        generate(persons, month)
        from django.contrib.auth import get_user_model

        from accounts.models import Tenant

        tenant = Tenant.objects.get(slug="benchby")
        officer = get_user_model().objects.get(username="bench-officer")
        batch = actions.request_batch(tenant, actor=officer, month=month)
        claimed = actions.claim_batch()
        assert claimed is not None and claimed.id == batch.id
        say(f"producing the batch ({os.cpu_count()} CPUs, {machine_load()})")
        queries = {"all": 0, "reads": 0}

        def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            queries["all"] += 1
            # The letters' data; the audit chain's head is read FOR UPDATE once per entry.
            queries["reads"] += sql.lstrip().upper().startswith("SELECT") and "FOR UPDATE" not in sql.upper()
            return execute(sql, params, many, context)

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        backend_before, cpu_before = process_cpu_s(backend), time.process_time()
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            done = actions.run_batch(claimed)
        elapsed = time.perf_counter() - started
        python_cpu, database_cpu = time.process_time() - cpu_before, process_cpu_s(backend) - backend_before
        assert done.done == persons, done.done
        path = letters_dir / done.file_name
        chunks = -(-persons // actions.BATCH_CHUNK)
        say(
            f"  {queries['all']} queries ({queries['reads']} reads, {queries['reads'] / chunks:.0f} a chunk of "
            f"{actions.BATCH_CHUNK} persons; the rest writes the letters' audit entries)"
        )
        say(f"  CPU: Python {python_cpu:.1f} s, database {database_cpu:.1f} s (wall {elapsed:.1f} s)")
        say(f"  file: {path.stat().st_size / 1e6:.1f} MB; peak memory {peak_rss_mb():.0f} MB; {machine_load()}")
        headline("letters.per_letter_ms", f"{elapsed / persons * 1000:.1f}")
        headline("letters.per_letter_cpu_ms", f"{(python_cpu + database_cpu) / persons * 1000:.1f}")
        headline(
            "letters.batch_10k_s" if persons == 10_000 else f"letters.batch_s ({persons} persons)", f"{elapsed:.1f}"
        )
        assert LetterBatch.objects.filter(id=batch.id, state="done").exists()
    finally:
        if not args.keep:
            drop_database(args.database)
        for leftover in letters_dir.rglob("*.pdf"):
            leftover.unlink()


if __name__ == "__main__":
    main()
