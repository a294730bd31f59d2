"""Fast bulk reads and writes of checks: COPY on PostgreSQL, with a temporary-table fallback."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.db import connection, transaction

from accounts.models import Tenant
from checks.models import Check

log = logging.getLogger(__name__)


def fetch_rows(rows: Any) -> Any:
    """The rows of a values_list query. On PostgreSQL straight from the cursor: the
    driver already gives dates and aware instants, and for 100,000 rows the ORM's
    per-row work is most of the time. SQLite needs the ORM's conversions."""
    if connection.vendor != "postgresql":
        return rows
    query, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


PLANNED_COLUMNS = (
    "person_id",
    "agreed_time_id",
    "scheduled_at",
    "form",
    "form_note",
    "state",
    "window_ends_at",
    "ended_at",
    "end_reason",
)


def _copy_field(value: Any) -> str:
    """One field in COPY's text format: \\N for NULL, backslash escapes for the rest."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    source = iter(items)
    while chunk := list(islice(source, size)):
        yield chunk


class _CopyLines:
    """Planned rows as lines of COPY's text format, several times faster than the
    driver's per-value adaptation (write_row) for 300,000 rows: a night has a few
    instants and a few distinct texts (forms, states, reasons), each formatted once."""

    def __init__(self, line_end: str) -> None:
        self.line_end = line_end
        self.formatted: dict[Any, str] = {}

    def field(self, value: Any) -> str:
        text = self.formatted.get(value)
        if text is None:
            text = self.formatted[value] = _copy_field(value)
        return text

    def line(self, row: tuple[Any, ...]) -> str:
        person_id, agreed_id, scheduled_at, form, form_note, state, window_ends_at, ended_at, end_reason = row
        field = self.field
        return (
            f"{person_id}\t{agreed_id if agreed_id is not None else field(None)}\t{field(scheduled_at)}\t"
            f"{field(form)}\t{field(form_note)}\t{field(state)}\t{field(window_ends_at)}\t{field(ended_at)}\t"
            f"{field(end_reason)}{self.line_end}"
        )


def insert_checks(tenant: Tenant, night: Any, new_rows: Iterable[tuple[Any, ...]]) -> int:
    """Insert planned checks, skipping any (person, time) planned meanwhile; returns how many are new."""
    fixed = {"tenant_id": tenant.id, "night": night}
    rows: list[tuple[Any, ...]] = []  # kept for the fallback below
    if connection.vendor != "postgresql":
        rows.extend(new_rows)
        # The embedded SQLite setup plans a few hundred persons: the ORM is fast enough.
        checks = [Check(**fixed, **dict(zip(PLANNED_COLUMNS, row, strict=True))) for row in rows]
        # bulk_create with ignore_conflicts does not say what it skipped; counted around it
        # (SQLite has one writer, so nothing else changes the count meanwhile).
        night_checks = Check.objects.filter(tenant_id=tenant.id, night=night)
        before = night_checks.count()
        Check.objects.bulk_create(checks, ignore_conflicts=True, batch_size=2000)
        return night_checks.count() - before
    # PostgreSQL: COPY, the fastest way in, straight into the table. The rows were checked
    # against the planned checks already and one worker plans a tenant at a time, so a
    # conflict is all but impossible; should one happen anyway, the COPY is rolled back to
    # its savepoint and the rows go through a temporary table and INSERT … ON CONFLICT
    # DO NOTHING instead, which skips what is planned already.
    import psycopg  # PostgreSQL only
    from psycopg import sql

    fields = [f for f in Check._meta.concrete_fields if not f.primary_key]
    planned_fields = [next(f for f in fields if f.attname == name) for name in PLANNED_COLUMNS]
    other_fields = [f for f in fields if f.attname not in PLANNED_COLUMNS]
    other_values = [fixed[f.attname] if f.attname in fixed else f.get_default() for f in other_fields]
    suffix = "".join("\t" + _copy_field(value) for value in other_values) + "\n"
    table = sql.Identifier(Check._meta.db_table)
    planned_columns = sql.SQL(", ").join([sql.Identifier(str(f.column)) for f in planned_fields])
    all_columns = sql.SQL(", ").join([sql.Identifier(str(f.column)) for f in planned_fields + other_fields])

    def copy_rows(cursor: Any, target: Any, columns: Any, line_end: str, source: Iterable[tuple[Any, ...]]) -> None:
        lines = _CopyLines(line_end)
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, columns)) as copy:
            # In chunks as they are made: the database inserts one while the next is made.
            for chunk in _chunks(source, 5_000):
                copy.write("".join(map(lines.line, chunk)))

    def kept(source: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in source:
            rows.append(row)
            yield row

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        # A plan lost to a crash in the instant after commit is made again by the next tick
        # (its NightPlan mark is lost with it), so the commit need not wait for the disk.
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Foreign keys are checked now rather than at commit, so the audit entry written
        # after this (which holds the audit chain's head until commit) keeps it briefly.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        try:
            with transaction.atomic():
                copy_rows(cursor, table, all_columns, suffix, kept(new_rows))
            return len(rows)
        except psycopg.errors.UniqueViolation:
            log.warning("night %s of %s: planned meanwhile; inserting what is missing", night, tenant.id)
        cursor.execute(
            sql.SQL("CREATE TEMPORARY TABLE planned_checks ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                planned_columns, table
            )
        )
        rows.extend(new_rows)  # the rest, had the COPY stopped midway
        copy_rows(cursor, sql.Identifier("planned_checks"), planned_columns, "\n", rows)
        selected = [sql.SQL("p.{}").format(sql.Identifier(str(f.column))) for f in planned_fields] + [
            sql.SQL("%s::{}").format(sql.SQL(str(f.db_type(connection)))) for f in other_fields
        ]
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM planned_checks p ON CONFLICT DO NOTHING").format(
                table, all_columns, sql.SQL(", ").join(selected)
            ),
            other_values,
        )
        inserted = cursor.rowcount
        cursor.execute("DROP TABLE planned_checks")  # the worker plans two nights in one transaction
    return inserted
