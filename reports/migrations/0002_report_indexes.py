"""Indexes for the monthly report's aggregate queries on other apps' tables.

Another app's model cannot get an index from here, so they are plain SQL that reads
the same on SQLite and PostgreSQL. Each is a range on (tenant, time) followed by the
columns the report counts, so the database reads one month of one municipality from
the index alone (an index-only scan once autovacuum has visited the pages).
"""

from django.db import migrations

INDEXES = {
    # Checks: the month's rows per unit and night, per agreed instant (in index order), and
    # the on-time semi-join.
    "reports_check_month": "checks_check (tenant_id, night, scheduled_at, state, form, person_id, "
                           "not_visible_count, camera_fault)",
    # Checks: has this person a (camera) check this month? One index-only probe per person.
    "reports_check_person_form": "checks_check (person_id, form, scheduled_at)",
    # Attempts: the month's attempts for the on-time semi-join, by time.
    "reports_attempt_opened": "checks_attempt (opened_at, night_check_id)",
    # Escalations: by cause and result per unit, and camera-fault nights.
    "reports_escalation_month": "checks_escalation (tenant_id, created_at, cause, result, person_id, "
                                "night_check_id)",
    # View grants: view time per unit.
    "reports_viewgrant_month": "cameras_viewgrant (tenant_id, issued_at, purpose, person_id, first_frame_at, "
                               "ended_at)",
}


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("checks", "0001_initial"),
        ("cameras", "0002_camera_simulated_scenario"),
    ]

    operations = [
        migrations.RunSQL(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}",
                          reverse_sql=f"DROP INDEX IF EXISTS {name}")
        for name, definition in INDEXES.items()
    ]
