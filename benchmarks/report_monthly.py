"""How long the monthly report takes on a year of data (docs/REPORTS.md, "Performance").

Builds a PostgreSQL database of its own (default ``bench_reports`` on 127.0.0.1:5432,
user postgres) with one municipality, ``--persons`` persons (default 10,000) and 365
nights of checks ending with the last whole month: 2–3 agreed times a night, 70 % of the
persons on camera, the rest on physical visits; about 10 million checks for 10,000
persons, with their attempts, view grants and escalations. The rows are made by the
database (INSERT … SELECT generate_series), not the ORM: foreign-key triggers are off
during the load and indexes are built after it, as a restore would.

Then it renders the real monthly report page (django.test.Client, as the
municipality's administrator) for the last whole month, a few times, and prints the
timings. The first render counts and stores the tallies of the month's settled nights
(reports/tally.py), as the first render of a month does when `manage.py tally_nights`
has not run; the five after it read them back. The last line is
``report.monthly_render_s: <median of those five>``.

    .venv/bin/python benchmarks/report_monthly.py                  # 10,000 persons, ~10 M checks
    .venv/bin/python benchmarks/report_monthly.py --persons 1000   # a quick run
    .venv/bin/python benchmarks/report_monthly.py --reuse          # render again without rebuilding
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from _common import (
    EACH_NIGHT_AND_AGREED_TIME,
    admin_connection,
    bulk_load,
    check_view_grants_step,
    drop_database,
    headline,
    last_whole_month,
    pg_params,
    process_cpu_s,
    recreate_database,
    say,
    setup_django,
)

NIGHTS = 365
UNITS = 20
CAMERA_SHARE = 0.7
RENDERS = 5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=10_000, help="persons in the municipality (10000)")
    parser.add_argument("--database", default="bench_reports", help="database to (re)create (bench_reports)")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run with as many persons")
    parser.add_argument("--keep", action="store_true", help="leave the database for inspection afterwards")
    return parser.parse_args()


def existing_persons(database: str) -> int | None:
    import psycopg

    with admin_connection() as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            return None
    try:
        with psycopg.connect(**pg_params(database)) as conn:
            row = conn.execute("SELECT persons FROM bench_meta").fetchone()
            return row[0] if row else None
    except psycopg.Error:
        return None


def month_to_render(today: date) -> tuple[date, date, date]:
    """(first night of the data, last night, first day of the month rendered)."""
    month = last_whole_month(today)
    last_night = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return last_night - timedelta(days=NIGHTS - 1), last_night, month


def generate(persons: int, first_night: date, last_night: date) -> dict[str, int]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Membership, Role, Tenant
    from cameras.models import Camera, ViewGrant
    from checks.models import Attempt, Check, Escalation
    from people.models import Person

    tenant = Tenant.objects.create(name="Benchby kommun", slug="benchby")
    other = Tenant.objects.create(name="Annanby kommun", slug="annanby")
    users = get_user_model()
    admin = users.objects.create_user("bench-admin", password="bench-password-long")
    Membership.objects.create(user=admin, tenant=tenant, role=Role.ADMINISTRATOR)
    operator = users.objects.create_user("bench-operator", password="bench-password-long")
    patrol = users.objects.create_user("bench-patrol", password="bench-password-long")
    params = {
        "tenant": tenant.id,
        "other": other.id,
        "operator": operator.id,
        "patrol": patrol.id,
        "persons": persons,
        "units": UNITS,
        "camera_share": CAMERA_SHARE,
        "first": first_night,
        "nights": (last_night - first_night).days + 1,
    }
    steps = [
        (
            "persons",
            None,
            """
            INSERT INTO people_person (tenant_id, name, personnummer, unit, address, phone, relative_name,
                                       relative_phone, entry_notes, created_at)
            SELECT %(tenant)s, 'Person ' || n, lpad(n::text, 12, '0'), 'Område ' || (n %% %(units)s + 1),
                   'Vägen ' || n, '', '', '', '', now()
            FROM generate_series(1, %(persons)s) AS n""",
        ),
        (
            "cameras",
            None,
            """
            INSERT INTO cameras_camera (tenant_id, person_id, name, model, driver, stream_url, username,
                                        password_encrypted, placement_note, simulated_scenario, training_only,
                                        last_probe_problem)
            SELECT tenant_id, id, 'cam-' || id, 'Sim', 'simulated', 'rtsp://127.0.0.1:8554/cam', '', '', '', '',
                   false, ''
            FROM people_person WHERE tenant_id = %(tenant)s AND (id %% 10) < %(camera_share)s * 10""",
        ),
        # One row per person, night and agreed time (2 or 3 a night); the outcome is drawn
        # from a fixed distribution: mostly seen OK at once, some retries and escalations.
        (
            "checks",
            "checks_check",
            """
            INSERT INTO checks_check (tenant_id, person_id, night, scheduled_at, form, form_note, state, due_at,
                                      window_ends_at, not_visible_count, overdue_alarm_raised, camera_fault,
                                      ended_at, end_reason)
            SELECT p.tenant_id, p.id, night, at,
                   CASE WHEN cam THEN 'camera' ELSE 'physical' END, '',
                   CASE WHEN r < 0.02 THEN 'cancelled'
                        WHEN NOT cam OR r < 0.93 THEN 'done' ELSE 'escalated' END,
                   at, at + interval '60 minutes',
                   CASE WHEN cam AND r >= 0.88 AND r < 0.95 THEN (CASE WHEN r < 0.93 THEN 1 ELSE 2 END) ELSE 0 END,
                   false,
                   CASE WHEN cam AND r >= 0.997 THEN 'no answer from camera' ELSE '' END,
                   at + interval '3 minutes',
                   CASE WHEN r < 0.02 THEN 'absence:hospital'
                        WHEN NOT cam THEN 'visit:visited_ok'
                        WHEN r < 0.93 THEN 'seen_ok'
                        WHEN r < 0.95 THEN 'not_visible'
                        WHEN r < 0.96 THEN 'needs_help'
                        WHEN r < 0.97 THEN 'missed'
                        ELSE 'technical_fault' END
            FROM people_person p"""
            + EACH_NIGHT_AND_AGREED_TIME
            + """
            CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM cameras_camera c WHERE c.person_id = p.id) AS cam) k
            WHERE p.tenant_id = %(tenant)s""",
        ),
        # The first attempt: 0–12 minutes after the agreed time (80 % within 5).
        (
            "attempts",
            "checks_attempt",
            """
            INSERT INTO checks_attempt (night_check_id, operator_id, opened_at, outcome, outcome_at)
            SELECT id, %(operator)s, opened, outcome, opened + interval '40 seconds'
            FROM (SELECT c.id, c.scheduled_at + (CASE WHEN random() < 0.8 THEN random() * 5 ELSE 5 + random() * 7
                                                  END) * interval '1 minute' AS opened,
                         CASE WHEN c.not_visible_count > 0 THEN 'not_visible'
                              WHEN c.end_reason IN ('needs_help', 'technical_fault') THEN c.end_reason
                              ELSE 'seen_ok' END AS outcome
                  FROM checks_check c
                  WHERE c.form = 'camera' AND c.state IN ('done', 'escalated') AND c.end_reason <> 'missed'
                        AND c.camera_fault = '') a""",
        ),
        (
            "retries",
            None,
            """
            INSERT INTO checks_attempt (night_check_id, operator_id, opened_at, outcome, outcome_at)
            SELECT c.id, %(operator)s, c.scheduled_at + interval '20 minutes',
                   CASE WHEN c.state = 'done' THEN 'seen_ok' ELSE 'not_visible' END,
                   c.scheduled_at + interval '21 minutes'
            FROM checks_check c WHERE c.not_visible_count > 0""",
        ),
        check_view_grants_step(redeemed_s=2, first_frame_s=3, watched_s="(20 + random() * 10)", end_reason="max_view"),
        (
            "escalations",
            "checks_escalation",
            """
            INSERT INTO checks_escalation (tenant_id, person_id, night_check_id, cause, plan, state, created_at,
                                           acknowledged_at, acknowledged_by_id, ack_alarm_raised, result,
                                           result_note, resolved_at, resolved_by_id)
            SELECT c.tenant_id, c.person_id, c.id, cause, '["visit"]'::jsonb,
                   CASE WHEN r < 0.01 THEN 'open' ELSE 'resolved' END, c.scheduled_at + interval '2 minutes',
                   c.scheduled_at + interval '5 minutes', %(patrol)s, false,
                   CASE WHEN r < 0.01 THEN '' WHEN cause = 'planned_visit' OR r < 0.7 THEN 'visited_ok'
                        WHEN r < 0.8 THEN 'visited_needed_help' WHEN r < 0.9 THEN 'called_ok' ELSE 'not_home' END,
                   '', c.scheduled_at + interval '30 minutes', %(patrol)s
            FROM (SELECT c.*, CASE WHEN c.form = 'physical' THEN 'planned_visit' ELSE c.end_reason END AS cause,
                         random() AS r
                  FROM checks_check c WHERE c.state <> 'cancelled' AND (c.form = 'physical'
                                                                       OR c.state = 'escalated')) c""",
        ),
    ]
    with connection.cursor() as cursor:
        counts = bulk_load(cursor, steps, params, (Person, Camera, Check, Attempt, ViewGrant, Escalation))
        cursor.execute("CREATE TABLE bench_meta (persons integer, tenant integer)")
        cursor.execute("INSERT INTO bench_meta VALUES (%s, %s)", [persons, tenant.id])
    return counts


def vacuum_analyze() -> None:
    from django.db import connection

    # What autovacuum does in production: statistics for the planner and the visibility
    # map that lets index-only scans skip the table.
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) checks_check, checks_attempt, cameras_viewgrant, checks_escalation, "
            "people_person, cameras_camera"
        )


def render(month: date) -> list[float]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Tenant
    from nattillsyn.testing import SecondFactorClient
    from reports.models import NightTally, NightViewTally

    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant FROM bench_meta")
        tenant = Tenant.objects.get(id=cursor.fetchone()[0])
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    # The first render finds no tallies for the month's settled nights and counts them
    # (reports/tally.py); the renders after it read them back, as every render does once
    # the nights are tallied (by an earlier render or `manage.py tally_nights`).
    NightTally.objects.filter(tenant=tenant).delete()
    NightViewTally.objects.filter(tenant=tenant).delete()
    client = SecondFactorClient()  # logged in with the second factor done, as after a real login
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    url = f"/reports/monthly/?tenant={tenant.id}&month={month:%Y-%m}"
    timings = []
    for attempt in range(RENDERS + 1):
        cpu_before, python_before = process_cpu_s(pid), time.process_time()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        timings.append(elapsed)
        label = "(first: counts and stores the tallies)" if attempt == 0 else f"#{attempt}"
        say(
            f"  monthly report {label}: {elapsed:.3f} s (database backend CPU "
            f"{process_cpu_s(pid) - cpu_before:.2f} s, Python CPU {time.process_time() - python_before:.2f} s, "
            f"load average {os.getloadavg()[0]:.1f})"
        )
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    say(f"  queries per render: {len(captured)}")
    for label, extra in [("PDF", "&format=pdf"), ("CSV per unit", "&format=csv&table=units")]:
        started = time.perf_counter()
        response = client.get(url + extra)
        assert response.status_code == 200, response.status_code
        say(f"  monthly report {label}: {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    assert client.get(f"/reports/benefit/?tenant={tenant.id}&month={month:%Y-%m}").status_code == 200
    say(f"  benefit page: {time.perf_counter() - started:.3f} s")
    return timings


def main() -> None:
    args = parse_args()
    first_night, last_night, month = month_to_render(datetime.now(ZoneInfo("Europe/Stockholm")).date())
    total_started = time.perf_counter()
    reuse = args.reuse and existing_persons(args.database) == args.persons
    if not reuse:
        say(f"creating database {args.database}: {args.persons:,} persons, nights {first_night} – {last_night}")
        recreate_database(args.database)

    setup_django(args.database)
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)  # with --reuse too: the code may have moved on since
    say(f"  migrate: {time.perf_counter() - started:.1f} s")
    if not reuse:
        counts = generate(args.persons, first_night, last_night)
        started = time.perf_counter()
        vacuum_analyze()
        say(f"  vacuum analyze: {time.perf_counter() - started:.1f} s")
        say(
            f"data: {counts['checks']:,} checks, {counts['attempts'] + counts['retries']:,} attempts, "
            f"{counts['escalations']:,} escalations"
        )
    say(
        f"rendering the monthly report for {month:%Y-%m} ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})"
    )
    timings = render(month)
    warm = statistics.median(timings[1:])
    say("the first render once per month: it tallies the settled nights")
    headline("report.monthly_render_first_s", f"{timings[0]:.3f}")
    headline("report.monthly_render_max_s", f"{max(timings[1:]):.3f}")
    say(f"total run: {time.perf_counter() - total_started:.0f} s")
    if not args.keep and not args.reuse:
        drop_database(args.database)
    headline("report.monthly_render_s", f"{warm:.3f}")


if __name__ == "__main__":
    main()
