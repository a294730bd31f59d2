"""Every change to agreements, checks, escalations and alarms goes through here.

The worker's steps (``checks.engine``) and the views both call these functions;
each writes its audit entry in the same transaction as the change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from cameras.actions import (
    AccessRefused,
    audited_refusals,
    covering_grants,
    issue_grant,
    revoke_grants,
    revoke_grants_for_attempt,
)
from cameras.models import Camera, GrantPurpose, InstallationTest, ViewGrant
from checks.models import (
    OPEN_CHECK_STATES,
    AgreedTime,
    Agreement,
    Alarm,
    AlarmKind,
    Attempt,
    Check,
    CheckForm,
    CheckState,
    ConsolePresence,
    Escalation,
    EscalationCause,
    EscalationKind,
    EscalationResult,
    EscalationState,
    EscalationStep,
    Outcome,
)
from checks.nights import (
    clock_gap,
    is_skipped,
    night_bounds,
    person_instants,
    scheduled_instant,
    spring_forward_refusal,
)
from checks.rules import camera_allowed_for_person, camera_check_openable, camera_check_view_ends_by
from nattillsyn import clock
from people.actions import ActionRefused
from people.models import Absence, Consent, Decision, Person

# Failed health probes in a row that make a camera fault (see record_camera_probe).
PROBE_FAILURES_FOR_FAULT = 2
# A second "not visible" escalates (the guideline: one new attempt, then someone goes).
NOT_VISIBLE_BEFORE_ESCALATION = 2

log = logging.getLogger(__name__)


# --- Agreement -----------------------------------------------------------------------------------


@transaction.atomic
def save_agreement(
    person: Person,
    *,
    actor: Any,
    retry_delay_min: int,
    notes: str,
    times: list[tuple[time, str]],
    escalation_steps: list[str],
) -> Agreement:
    now = clock.now()
    if not times:
        raise ActionRefused(_("Agree on at least one check time."))
    if len({agreed for agreed, _form in times}) != len(times):
        raise ActionRefused(_("The same time is given twice."))
    collision = spring_forward_refusal([agreed for agreed, _form in times], now.astimezone(clock.STOCKHOLM).date())
    if collision is not None:
        raise ActionRefused(
            _(
                "On %(day)s the clocks go forward and the hour 02:00–03:00 does not exist. There is no free "
                "minute to move %(times)s to between the check times before and after it: choose times further "
                "apart."
            )
            % {
                "day": f"{collision.night + timedelta(days=1):%Y-%m-%d}",
                "times": ", ".join(f"{t:%H:%M}" for t in collision.skipped),
            }
        )
    if (
        not person.decisions.filter(valid_to__isnull=True).exists()
        and not person.decisions.filter(valid_to__gte=now.date()).exists()
    ):
        raise ActionRefused(_("No valid decision covers these check times: register the decision first."))
    agreement = Agreement.objects.filter(person=person).first() or Agreement(person=person)
    agreement.retry_delay_min = retry_delay_min
    agreement.notes = notes
    agreement.updated_at = now
    agreement.save()
    existing = {agreed.time: agreed for agreed in agreement.times.all()}
    wanted = dict(times)
    for agreed_time, agreed in existing.items():
        if agreed_time not in wanted:
            _cancel_planned_checks(agreed, reason="agreement_changed")
            agreed.delete()
        elif agreed.form != wanted[agreed_time]:
            # The planned checks stay, with the new form as their forecast (settle_form
            # decides again at due time). Cancelled, they would be lost: the cancelled row
            # keeps the (person, time) that a new check would need.
            agreed.form = wanted[agreed_time]
            agreed.save(update_fields=["form"])
            physical = agreed.form == CheckForm.PHYSICAL
            Check.objects.filter(agreed_time=agreed, state=CheckState.PLANNED).update(
                form=agreed.form, form_note="agreed_physical" if physical else ""
            )
    for agreed_time, form in wanted.items():
        if agreed_time not in existing:
            AgreedTime.objects.create(agreement=agreement, time=agreed_time, form=form, created_at=now)
    agreement.escalation_steps.all().delete()
    for order, kind in enumerate(escalation_steps or [EscalationKind.VISIT]):
        EscalationStep.objects.create(agreement=agreement, order=order, kind=kind)
    record(
        actor=actor,
        action=AuditAction.AGREEMENT_CHANGED,
        tenant=person.tenant_id,
        person=person,
        obj=agreement,
        detail={
            "times": [f"{t:%H:%M} {f}" for t, f in sorted(times)],
            "retry_delay_min": retry_delay_min,
            "escalation": list(escalation_steps),
        },
    )
    return agreement


def _cancel_planned_checks(agreed: AgreedTime, *, reason: str) -> None:
    for check in Check.objects.filter(agreed_time=agreed, state=CheckState.PLANNED):
        _end_check(check, CheckState.CANCELLED, reason=reason, actor=None)


# --- Planning -------------------------------------------------------------------------------------


def plan_night(tenant: Tenant, night: Any, *, now: datetime, changed_since: datetime | None = None) -> int:
    """Create the checks of ``night`` for the persons of ``tenant``; idempotent.

    With ``changed_since``, only persons whose agreement or decision changed after it
    are looked at (the worker plans each night fully once, then incrementally).

    Set-based, so a night of 100,000 persons plans in seconds (benchmarks/scale_plan.py):
    1. the agreed times of the persons looked at, each local time turned into its instant
       once (a night has a few dozen distinct times, not 300,000);
    2. minus the checks planned already;
    3. only for what is left, the person's decisions, consents, absences and camera, read
       in one query each, and the same rules as ever (``Decision.covers``,
       ``camera_allowed_for_person``) asked of them;
    4. one INSERT … ON CONFLICT DO NOTHING, so a check planned meanwhile by another
       worker is neither doubled nor counted.
    """
    night_start, night_end = night_bounds(night)
    window = timedelta(minutes=tenant.check_window_min)
    persons = Person.objects.filter(tenant=tenant, agreement__isnull=False)
    if changed_since is not None:
        persons = persons.filter(agreement__updated_at__gte=changed_since)
    person_ids = persons.values("id")

    instants: dict[time, datetime] = {}
    wanted: list[tuple[int, int, datetime, str]] = []
    agreed_times = AgreedTime.objects.filter(agreement__person__in=person_ids).order_by()
    # Only a time agreed during the night can have been agreed after its window closed.
    agreed_tonight = dict(agreed_times.filter(created_at__gt=night_start).values_list("id", "created_at"))
    rows = list(_fetch(agreed_times.values_list("id", "agreement__person_id", "time", "form")))
    # Only on the spring-forward night does a person's instant depend on their other times.
    moved = _moved_instants(night, rows) if clock_gap(night) is not None else {}
    # The agreed times (by id) whose check is moved, with the local time agreed.
    moved_agreed: dict[int, time] = {}
    for agreed_id, person_id, agreed_time, form in rows:
        scheduled_at = moved.get((person_id, agreed_time)) if moved else None
        if scheduled_at is not None:
            moved_agreed[agreed_id] = agreed_time
        else:
            scheduled_at = instants.get(agreed_time)
            if scheduled_at is None:
                scheduled_at = instants[agreed_time] = scheduled_instant(night, agreed_time)
        if agreed_id in agreed_tonight and scheduled_at + window <= agreed_tonight[agreed_id]:
            continue  # agreed after this check's window had closed
        wanted.append((person_id, agreed_id, scheduled_at, form))
    if moved_agreed and changed_since is not None:
        # Re-planning a changed agreement: its skipped times may have new neighbours.
        _follow_new_placement(tenant, night, moved, moved_agreed, window=window, now=now)
    if wanted:
        existing = set(
            Check.objects.filter(
                tenant=tenant, scheduled_at__gte=night_start, scheduled_at__lt=night_end, person__in=person_ids
            )
            .order_by()
            .values_list("person_id", "scheduled_at")
        )
        wanted = [row for row in wanted if (row[0], row[2]) not in existing]
    if not wanted:
        return 0

    facts = _planning_facts(person_ids, night_start, night_end)
    all_instants = {*instants.values(), *moved.values()}
    local_dates = {scheduled_at: scheduled_at.astimezone(clock.STOCKHOLM) for scheduled_at in all_instants}
    ends = {scheduled_at: scheduled_at + window for scheduled_at in all_instants}
    # In the unique index's order: each index page is then visited once, in sequence,
    # rather than at random (40 % less write-ahead log on PostgreSQL).
    wanted.sort(key=itemgetter(0, 2))
    # Checks cancelled at planning for an absence, per person: each gets its own entry so
    # the person's audit extract shows why no one looked that night.
    cancelled: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    # Checks of agreed times the spring-forward clock skips, per person (see checks.nights).
    moved_planned: dict[int, list[tuple[time, datetime]]] = defaultdict(list)

    def planned_rows() -> Iterator[tuple[Any, ...]]:
        """The new checks, in the order of _PLANNED_COLUMNS, made while the database
        takes in the ones before (the insert streams them)."""
        # For a person none of whose consents or decisions begins or ends tonight (most),
        # the decision's cover and the camera rule answer the same at every instant of the
        # night: asked once, at the person's first check.
        steady: dict[int, tuple[bool, str | None]] = {}
        for person_id, agreed_id, scheduled_at, form in wanted:
            person = facts.get(person_id)
            if person is None:
                continue
            known = steady.get(person_id)
            if known is None:
                covered = any(decision.covers(local_dates[scheduled_at]) for decision in person.decisions)
                refusal = camera_allowed_for_person(cast(Person, person), scheduled_at) if covered else None
                if person.steady_through(night_start, night_end):
                    steady[person_id] = (covered, refusal)
            else:
                covered, refusal = known
            if not covered:
                continue
            state, form_note, ended_at, end_reason = CheckState.PLANNED, "", None, ""
            absence = (
                next((a for a in person.absences if a.starts_at <= scheduled_at < a.ends_at), None)
                if person.absences
                else None
            )
            if moved_agreed and agreed_id in moved_agreed:
                moved_planned[person_id].append((moved_agreed[agreed_id], scheduled_at))
            if absence is not None:
                state, ended_at, end_reason = CheckState.CANCELLED, scheduled_at, f"absence:{absence.kind}"
                cancelled[person_id].append((scheduled_at, end_reason))
            elif form == CheckForm.CAMERA and refusal is not None:
                # A forecast for the console; at due time settle_form asks the rules again.
                form, form_note = CheckForm.PHYSICAL, refusal
            yield (person_id, agreed_id, scheduled_at, form, form_note, state, ends[scheduled_at], ended_at, end_reason)

    with transaction.atomic():
        planned = _insert_checks(tenant, night, planned_rows())
        if planned:
            record(
                actor=None,
                action=AuditAction.CHECKS_PLANNED,
                tenant=tenant,
                detail={"night": str(night), "checks": planned},
                at=now,
            )
        for person_id, moves in moved_planned.items():
            # No agreed time is dropped silently: the person's extract shows where it went.
            record(
                actor=None,
                action=AuditAction.CHECKS_PLANNED,
                tenant=tenant,
                person=person_id,
                detail={
                    "night": str(night),
                    "reason": "clock_change",
                    "moved": {f"{agreed:%H:%M}": scheduled_at.isoformat() for agreed, scheduled_at in moves},
                },
                at=now,
            )
        for person_id, times in cancelled.items():
            record(
                actor=None,
                action=AuditAction.CHECK_CANCELLED,
                tenant=tenant,
                person=person_id,
                detail={
                    "night": str(night),
                    "times": [scheduled_at.isoformat() for scheduled_at, _reason in times],
                    "reason": times[0][1],
                },
                at=now,
            )
    return planned


def _moved_instants(night: date, rows: list[tuple[int, int, time, str]]) -> dict[tuple[int, time], datetime]:
    """On the spring-forward night: the instants of the agreed times the clock skips,
    per (person, time), placed by the rule of ``checks.nights.person_instants``.

    Most persons share a few sets of times, so each set is placed once, not per person.
    """
    skipped = {agreed for agreed in {row[2] for row in rows} if is_skipped(night, agreed)}
    if not skipped:
        return {}
    times: dict[int, list[time]] = defaultdict(list)
    for _id, person_id, agreed, _form in rows:
        times[person_id].append(agreed)
    placed: dict[frozenset[time], dict[time, datetime]] = {}
    moved: dict[tuple[int, time], datetime] = {}
    for person_id, agreed_times in times.items():
        key = frozenset(agreed_times)
        if key.isdisjoint(skipped):
            continue
        if key not in placed:
            placed[key] = {agreed: at for agreed, at in person_instants(night, key).items() if agreed in skipped}
        for agreed, instant in placed[key].items():
            moved[(person_id, agreed)] = instant
    return moved


def _follow_new_placement(
    tenant: Tenant,
    night: date,
    moved: dict[tuple[int, time], datetime],
    moved_agreed: dict[int, time],
    *,
    window: timedelta,
    now: datetime,
) -> None:
    """Planned checks of skipped times move to their new place on the spring night.

    A time agreed or removed after the night was planned changes where the person's
    skipped times go (checks.nights.person_instants); left in place, a check would sit
    where a new time wants one. A check whose new place is taken (even by a cancelled
    row) stays where it is: still a check for its agreed time.
    """
    checks = list(
        Check.objects.select_for_update(of=("self",)).filter(
            tenant=tenant, night=night, agreed_time_id__in=list(moved_agreed), state=CheckState.PLANNED
        )
    )
    agreed_of = {c.id: moved_agreed[c.agreed_time_id] for c in checks if c.agreed_time_id is not None}
    to_move = [c for c in checks if c.scheduled_at != moved[(c.person_id, agreed_of[c.id])]]
    if not to_move:
        return
    taken = set(
        Check.objects.filter(person_id__in={c.person_id for c in to_move}, night=night).values_list(
            "person_id", "scheduled_at"
        )
    )
    moves: dict[int, dict[str, str]] = defaultdict(dict)
    progress = True
    while to_move and progress:  # one check may move into the place another leaves
        progress = False
        for check in list(to_move):
            agreed = agreed_of[check.id]
            target = moved[(check.person_id, agreed)]
            if (check.person_id, target) in taken:
                continue
            taken.discard((check.person_id, check.scheduled_at))
            taken.add((check.person_id, target))
            moves[check.person_id][f"{agreed:%H:%M}"] = target.isoformat()
            check.scheduled_at, check.window_ends_at = target, target + window
            check.save(update_fields=["scheduled_at", "window_ends_at"])
            to_move.remove(check)
            progress = True
    for person_id, moved_to in moves.items():
        record(
            actor=None,
            action=AuditAction.CHECKS_PLANNED,
            tenant=tenant,
            person=person_id,
            detail={"night": str(night), "reason": "clock_change", "moved": moved_to},
            at=now,
        )


class _Related(list):  # type: ignore[type-arg]
    """Stands in for a prefetched related manager: ``.all()`` is the list itself."""

    def all(self) -> _Related:
        return self


@dataclass(slots=True)
class _ConsentFacts:
    given_at: datetime
    withdrawn_at: datetime | None
    valid_until: date | None

    def is_valid_at(self, moment: datetime) -> bool:
        # The model's own rule, applied to the three fields it reads.
        return Consent.is_valid_at(cast(Consent, self), moment)

    def valid_span(self) -> tuple[datetime, datetime | None]:
        return Consent.valid_span(cast(Consent, self))


@dataclass(slots=True)
class _DecisionFacts:
    valid_from: date
    valid_to: date | None

    def covers(self, night: datetime) -> bool:
        return Decision.covers(cast(Decision, self), night)

    def valid_span(self) -> tuple[datetime, datetime | None]:
        return Decision.valid_span(cast(Decision, self))


class _AbsenceFacts(NamedTuple):
    kind: str
    starts_at: datetime
    ends_at: datetime


@dataclass
class _CameraFacts:
    installation_passed: bool


@dataclass
class _PersonFacts:
    """What the planning rules read of a person, fetched for many persons at once;
    ``camera_allowed_for_person`` reads it as it reads a Person with prefetched relations."""

    decisions: _Related = field(default_factory=_Related)
    consents: _Related = field(default_factory=_Related)
    absences: list[_AbsenceFacts] = field(default_factory=list)
    camera: _CameraFacts | None = None

    def steady_through(self, night_start: datetime, night_end: datetime) -> bool:
        """No consent or decision of this person begins or ends within the night, so
        ``camera_allowed_for_person`` answers the same at every instant of it.

        Mirrors what ``Consent.is_valid_at`` and ``Decision.covers`` compare: instants
        for consent given and withdrawn, local dates for a trial period's last day and a
        decision's first and last day.
        """
        first_day = night_start.astimezone(clock.STOCKHOLM).date()
        last_day = night_end.astimezone(clock.STOCKHOLM).date()

        def instant_outside(moment: datetime | None) -> bool:
            return moment is None or moment <= night_start or moment >= night_end

        def last_day_outside(day: date | None) -> bool:
            return day is None or day >= last_day or day < first_day

        return all(
            instant_outside(consent.given_at)
            and instant_outside(consent.withdrawn_at)
            and last_day_outside(consent.valid_until)
            for consent in self.consents
        ) and all(
            (decision.valid_from <= first_day or decision.valid_from > last_day) and last_day_outside(decision.valid_to)
            for decision in self.decisions
        )


def _fetch(rows: Any) -> Any:
    """The rows of a values_list query. On PostgreSQL straight from the cursor: the
    driver already gives dates and aware instants, and for 100,000 rows the ORM's
    per-row work is most of the time. SQLite needs the ORM's conversions."""
    if connection.vendor != "postgresql":
        return rows
    query, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _planning_facts(person_ids: Any, night_start: datetime, night_end: datetime) -> dict[int, _PersonFacts]:
    """One query per relation for all of ``person_ids`` (a subquery, not a list)."""
    facts: dict[int, _PersonFacts] = defaultdict(_PersonFacts)
    decisions = Decision.objects.filter(person__in=person_ids).order_by()
    for person_id, valid_from, valid_to in _fetch(decisions.values_list("person_id", "valid_from", "valid_to")):
        facts[person_id].decisions.append(_DecisionFacts(valid_from, valid_to))
    consents = Consent.objects.filter(person__in=person_ids).order_by()
    for person_id, given_at, withdrawn_at, valid_until in _fetch(
        consents.values_list("person_id", "given_at", "withdrawn_at", "valid_until")
    ):
        facts[person_id].consents.append(_ConsentFacts(given_at, withdrawn_at, valid_until))
    # Newest first, as Person.absences.all() is ordered, so the same absence gives the reason.
    absences = Absence.objects.filter(person__in=person_ids, starts_at__lt=night_end, ends_at__gt=night_start)
    for person_id, kind, starts_at, ends_at in absences.order_by("-starts_at").values_list(
        "person_id", "kind", "starts_at", "ends_at"
    ):
        facts[person_id].absences.append(_AbsenceFacts(kind, starts_at, ends_at))
    camera_person = dict(Camera.objects.filter(person__in=person_ids).order_by().values_list("id", "person_id"))
    for person_id in camera_person.values():
        facts[person_id].camera = _CameraFacts(installation_passed=False)
    # Camera.installation_passed: the newest test passed, with the camera at this person.
    tests = InstallationTest.objects.filter(camera_id__in=Camera.objects.filter(person__in=person_ids).values("id"))
    seen: set[int] = set()
    for camera_id, tested_person_id, passed in tests.order_by("camera_id", "-performed_at").values_list(
        "camera_id", "person_id", "passed"
    ):
        if camera_id in seen:
            continue
        seen.add(camera_id)
        person_id = camera_person[camera_id]
        facts[person_id].camera = _CameraFacts(installation_passed=passed and tested_person_id == person_id)
    return facts


_PLANNED_COLUMNS = (
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


def _insert_checks(tenant: Tenant, night: Any, new_rows: Iterable[tuple[Any, ...]]) -> int:
    """Insert planned checks, skipping any (person, time) planned meanwhile; returns how many are new."""
    fixed = {"tenant_id": tenant.id, "night": night}
    rows: list[tuple[Any, ...]] = []  # kept for the fallback below
    if connection.vendor != "postgresql":
        rows.extend(new_rows)
        # The embedded SQLite setup plans a few hundred persons: the ORM is fast enough.
        checks = [Check(**fixed, **dict(zip(_PLANNED_COLUMNS, row, strict=True))) for row in rows]
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
    planned_fields = [next(f for f in fields if f.attname == name) for name in _PLANNED_COLUMNS]
    other_fields = [f for f in fields if f.attname not in _PLANNED_COLUMNS]
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


# --- Changes that move checks ------------------------------------------------------------------------


def switch_open_camera_checks_to_physical(person: Person, *, reason: str) -> None:
    """Consent withdrawn or decision ended: the remaining camera checks become visits."""
    open_camera_checks = Check.objects.select_for_update().filter(
        person=person, form=CheckForm.CAMERA, state__in=OPEN_CHECK_STATES
    )
    for check in open_camera_checks:
        check.form = CheckForm.PHYSICAL
        check.form_note = reason
        check.save(update_fields=["form", "form_note"])
        if check.state in (CheckState.DUE, CheckState.IN_PROGRESS, CheckState.RETRY_WAIT):
            _hand_to_patrol_as_visit(check)


def cancel_checks_during_absence(absence: Absence, *, actor: Any) -> int:
    """Nobody is home: cancel every open check and pending visit the absence covers.

    1. Checks scheduled within the absence that nobody has opened: planned, due,
       waiting for a retry, or handed to the patrol as a visit.
    2. An absence that has begun ("from now") also covers what is live at its start:
       a check due at 23:00 and still waiting at 23:05 finds nobody home either.
    3. A pending visit's escalation is closed with the result "cancelled: away", so it
       leaves the patrol's list instead of sending someone to an empty home.
    A check an operator has open (in progress) is left to the operator's outcome.
    """
    reason = f"absence:{absence.kind}"
    covered = Q(
        scheduled_at__gte=absence.starts_at,
        scheduled_at__lt=absence.ends_at,
        state__in=(CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT, CheckState.VISIT_PENDING),
    )
    if absence.starts_at <= clock.now():
        covered |= Q(
            scheduled_at__lt=absence.ends_at,
            state__in=(CheckState.DUE, CheckState.RETRY_WAIT, CheckState.VISIT_PENDING),
        )
    checks = Check.objects.select_for_update(of=("self",)).filter(covered, person_id=absence.person_id)
    count = 0
    for check in checks:
        if check.state == CheckState.VISIT_PENDING:
            _cancel_planned_visit(check, reason=reason, actor=actor)
        _end_check(check, CheckState.CANCELLED, reason=reason, actor=actor)
        count += 1
    return count


def _cancel_planned_visit(check: Check, *, reason: str, actor: Any) -> None:
    visits = Escalation.objects.select_for_update().filter(
        night_check=check,
        cause=EscalationCause.PLANNED_VISIT,
        state__in=(EscalationState.OPEN, EscalationState.ACKNOWLEDGED),
    )
    for escalation in visits:
        escalation.state = EscalationState.RESOLVED
        escalation.result = EscalationResult.CANCELLED_ABSENCE
        escalation.result_note = reason
        escalation.resolved_at = clock.now()
        escalation.resolved_by = actor
        escalation.save(update_fields=["state", "result", "result_note", "resolved_at", "resolved_by"])
        record(
            actor=actor,
            action=AuditAction.ESCALATION_RESOLVED,
            tenant=escalation.tenant_id,
            person=escalation.person_id,
            obj=escalation,
            detail={"result": EscalationResult.CANCELLED_ABSENCE, "reason": reason, "check": check.id},
        )


def _end_check(check: Check, state: str, *, reason: str, actor: Any) -> None:
    check.state = state
    check.end_reason = reason
    check.ended_at = clock.now()
    check.save(update_fields=["state", "end_reason", "ended_at"])
    if state == CheckState.CANCELLED:
        record(
            actor=actor,
            action=AuditAction.CHECK_CANCELLED,
            tenant=check.tenant_id,
            person=check.person_id,
            obj=check,
            detail={"reason": reason},
        )


# --- The operator's check ----------------------------------------------------------------------------


@audited_refusals
def open_check(check: Check, *, actor: Any, ip: str | None = None) -> tuple[Attempt, str]:
    """The operator opens a camera check: an attempt and a single-use view grant.

    A check someone has open is theirs while anybody may still be looking at it
    (``attempt_held_until``). The same operator may open it again at once (a late
    start, a closed tab, a crashed browser): the old attempt's grant is revoked and a
    new attempt gets a new grant inside the same window. Another operator is told who
    has it and since when; the refusal is audited.
    """
    check = Check.objects.select_for_update(of=("self",)).select_related("person", "tenant").get(pk=check.pk)
    now = clock.now()
    reopened: Attempt | None = None
    if check.state == CheckState.IN_PROGRESS:
        held = current_attempt(check)
        if held is not None and held.operator_id != actor.id and now < attempt_held_until(held):
            raise AccessRefused(
                _("%(operator)s has had this check open since %(since)s.")
                % {
                    "operator": operator_name(held.operator),
                    "since": f"{held.opened_at.astimezone(clock.STOCKHOLM):%H:%M}",
                },
                reason="held_by_other",
                actor=actor,
                tenant=check.tenant_id,
                person=check.person_id,
                obj=check,
                ip=ip,
            )
        reopened = held
        # Asked as the check stood before it was opened: its window and the person's
        # consent still decide, whoever opened it first.
        check.state = CheckState.DUE
    refusal = camera_check_openable(check, now)
    if refusal is not None:
        raise AccessRefused(
            refusal_message(refusal),
            reason=refusal,
            actor=actor,
            tenant=check.tenant_id,
            person=check.person_id,
            obj=check,
            ip=ip,
        )
    if reopened is not None:
        revoke_grants_for_attempt(reopened, reason="reopened")
    attempt = Attempt.objects.create(night_check=check, operator=actor, opened_at=now)
    check.state = CheckState.IN_PROGRESS
    if check.due_at is None:
        check.due_at = now
    check.save(update_fields=["state", "due_at"])
    _grant, token = issue_grant(
        check.person.camera,
        actor=actor,
        purpose=GrantPurpose.CHECK,
        person=check.person,
        attempt=attempt,
        hard_end=camera_check_view_ends_by(check, now),
        ip=ip,
        detail={"reopened_attempt": reopened.id} if reopened is not None else None,
    )
    return attempt, token


def current_attempt(check: Check) -> Attempt | None:
    """The newest attempt of an opened check, if it has no outcome yet."""
    attempt = check.attempts.select_related("operator", "grant").order_by("-opened_at", "-id").first()
    return attempt if attempt is not None and not attempt.outcome else None


# How long an opened check stays its operator's when nobody is looking at it:
# a page that never started its view, and the time after a view to choose an outcome.
UNSTARTED_HOLD = timedelta(seconds=20)
AFTER_VIEW_HOLD = timedelta(seconds=30)


def attempt_held_until(attempt: Attempt) -> datetime:
    """Until when an attempt without outcome keeps its check from other operators (and
    from the worker's release): while its view may start or runs, and a short while after
    it ended, so the operator can record what they saw. A closed tab ends the view at
    once (the page sends DELETE), a crashed browser when the gateway cuts it at the
    view's end; either way the check is free again within a minute."""
    grant = getattr(attempt, "grant", None)
    if grant is None:
        return attempt.opened_at + UNSTARTED_HOLD
    if grant.revoked_at is not None:
        return grant.revoked_at + AFTER_VIEW_HOLD
    if grant.ended_at is not None:
        return grant.ended_at + AFTER_VIEW_HOLD
    if grant.redeemed_at is None:
        return min(grant.issued_at + UNSTARTED_HOLD, grant.start_by)
    return grant.hard_end + AFTER_VIEW_HOLD


def operator_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


REFUSAL_MESSAGES = {
    "not_a_camera_check": gettext_lazy("This check is a physical visit, not a camera check."),
    "retry_not_yet_due": gettext_lazy("The new attempt is not due yet."),
    "not_yet_due": gettext_lazy("The check is not due yet."),
    "check_not_open": gettext_lazy("The check is already closed."),
    "outside_check_window": gettext_lazy("The time window for this check has passed."),
    "no_valid_consent": gettext_lazy("There is no valid consent to camera supervision."),
    "no_valid_decision": gettext_lazy("There is no valid decision on night supervision."),
    "no_camera": gettext_lazy("No camera is assigned to the person."),
    "camera_not_tested": gettext_lazy("The camera's installation test has not been passed."),
}


def refusal_message(reason: str) -> str:
    return str(REFUSAL_MESSAGES.get(reason, reason))


# Outcomes that say what the operator saw in the picture; the others (needs help,
# technical fault) must be possible without one: a person on the floor seen for an
# instant, or no picture at all, is exactly when help must go.
OUTCOMES_NEEDING_PICTURE = (Outcome.SEEN_OK, Outcome.NOT_VISIBLE)


def picture_refusal(attempt: Attempt, outcome: str, now: datetime) -> str | None:
    """Has this attempt's viewer seen the picture long enough for ``outcome``?

    Only the gateway knows that frames reached the browser (its ``first_frame`` event).
    "Seen, OK" also needs the municipality's minimum look (default 2 s); "not visible"
    needs a picture at all, else it is a technical fault, not a person out of bed.
    """
    if outcome not in OUTCOMES_NEEDING_PICTURE:
        return None
    grant = getattr(attempt, "grant", None)
    if grant is None or grant.first_frame_at is None:
        return "no_picture"
    if outcome == Outcome.SEEN_OK:
        looked = ((grant.ended_at or now) - grant.first_frame_at).total_seconds()
        if looked < attempt.night_check.tenant.min_view_s:
            return "view_too_short"
    return None


@audited_refusals
def record_outcome(attempt: Attempt, *, actor: Any, outcome: str) -> Check:
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("night_check__tenant", "grant")
        .get(pk=attempt.pk)
    )
    check = (
        Check.objects.select_for_update(of=("self",)).select_related("person__agreement").get(pk=attempt.night_check_id)
    )
    if attempt.outcome:
        raise ActionRefused(_("The outcome of this attempt is already recorded."))
    if attempt.operator_id != actor.id:
        raise ActionRefused(_("Only the operator who opened the check can record its outcome."))
    if outcome not in Outcome.values:
        raise ActionRefused(_("Unknown outcome."))
    now = clock.now()
    newer = check.attempts.filter(pk__gt=attempt.pk).select_related("operator")  # opened again since
    taken_over = newer.exclude(operator_id=actor.id).first()
    if taken_over is not None and check.state == CheckState.IN_PROGRESS:
        raise ActionRefused(
            _("%(operator)s has opened this check again since; record the outcome there.")
            % {"operator": operator_name(taken_over.operator)}
        )
    refusal = picture_refusal(attempt, outcome, now)
    if refusal is not None:
        raise AccessRefused(
            str(PICTURE_REFUSAL_MESSAGES[refusal]) % {"seconds": check.tenant.min_view_s},
            reason=refusal,
            actor=actor,
            tenant=check.tenant_id,
            person=check.person_id,
            obj=attempt,
            ip=None,
            action=AuditAction.OUTCOME_REFUSED,
            detail={"outcome": outcome, "check": check.id},
        )
    attempt.outcome = outcome
    attempt.outcome_at = now
    attempt.save(update_fields=["outcome", "outcome_at"])
    revoke_grants_for_attempt(attempt, reason="outcome_recorded")
    record(
        actor=actor,
        action=AuditAction.CHECK_OUTCOME,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=attempt,
        detail={"outcome": outcome, "check": check.id},
    )
    if check.state not in (CheckState.IN_PROGRESS, CheckState.DUE, CheckState.RETRY_WAIT):
        return check  # closed meanwhile (e.g. consent withdrawn): the outcome is kept, nothing moves
    if outcome == Outcome.SEEN_OK:
        _end_check(check, CheckState.DONE, reason=outcome, actor=actor)
    elif outcome == Outcome.NOT_VISIBLE:
        check.not_visible_count += 1
        if check.not_visible_count >= NOT_VISIBLE_BEFORE_ESCALATION:
            check.save(update_fields=["not_visible_count"])
            escalate(check, cause=EscalationCause.NOT_VISIBLE, actor=actor)
        else:
            delay = timedelta(minutes=check.person.agreement.retry_delay_min)
            check.state = CheckState.RETRY_WAIT
            check.next_attempt_at = now + delay
            check.window_ends_at = check.next_attempt_at + timedelta(minutes=check.tenant.check_window_min)
            check.overdue_alarm_raised = False
            check.save(
                update_fields=[
                    "state",
                    "not_visible_count",
                    "next_attempt_at",
                    "window_ends_at",
                    "overdue_alarm_raised",
                ]
            )
            record(
                actor=actor,
                action=AuditAction.RETRY_SCHEDULED,
                tenant=check.tenant_id,
                person=check.person_id,
                obj=check,
                detail={"at": check.next_attempt_at.isoformat()},
            )
    elif outcome == Outcome.NEEDS_HELP:
        escalate(check, cause=EscalationCause.NEEDS_HELP, actor=actor)
    else:
        escalate(check, cause=EscalationCause.TECHNICAL_FAULT, actor=actor)
    return check


PICTURE_REFUSAL_MESSAGES = {
    "no_picture": gettext_lazy(
        "No picture has reached your screen in this view, so the person cannot be recorded as seen. "
        "Open the check again, or record a technical fault."
    ),
    "view_too_short": gettext_lazy(
        "Look at the picture for at least %(seconds)s seconds before recording the person as seen."
    ),
}


def escalation_plan(person: Person) -> list[str]:
    agreement = getattr(person, "agreement", None)
    steps = [step.kind for step in agreement.escalation_steps.all()] if agreement else []
    return steps or [EscalationKind.VISIT]


def escalate(check: Check, *, cause: str, actor: Any, note: str = "") -> Escalation:
    """The check ends as escalated; the night patrol gets the agreed plan."""
    escalation = Escalation.objects.create(
        tenant_id=check.tenant_id,
        person_id=check.person_id,
        night_check=check,
        cause=cause,
        plan=escalation_plan(check.person),
        created_at=clock.now(),
    )
    _end_check(check, CheckState.ESCALATED, reason=cause, actor=actor)
    record(
        actor=actor,
        action=AuditAction.ESCALATED,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=escalation,
        detail={"cause": cause, "check": check.id, "plan": escalation.plan, "note": note},
    )
    return escalation


def _hand_to_patrol_as_visit(check: Check) -> Escalation:
    escalation = Escalation.objects.create(
        tenant_id=check.tenant_id,
        person_id=check.person_id,
        night_check=check,
        cause=EscalationCause.PLANNED_VISIT,
        plan=[EscalationKind.VISIT],
        created_at=clock.now(),
    )
    check.state = CheckState.VISIT_PENDING
    check.save(update_fields=["state"])
    record(
        actor=None,
        action=AuditAction.ESCALATED,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=escalation,
        detail={"cause": EscalationCause.PLANNED_VISIT, "check": check.id},
    )
    return escalation


# --- The night patrol -------------------------------------------------------------------------------------


@transaction.atomic
def acknowledge_escalation(escalation: Escalation, *, actor: Any) -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.state != EscalationState.OPEN:
        raise ActionRefused(_("The escalation is already acknowledged."))
    escalation.state = EscalationState.ACKNOWLEDGED
    escalation.acknowledged_at = clock.now()
    escalation.acknowledged_by = actor
    escalation.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
    record(
        actor=actor,
        action=AuditAction.ESCALATION_ACKNOWLEDGED,
        tenant=escalation.tenant_id,
        person=escalation.person_id,
        obj=escalation,
    )
    return escalation


@transaction.atomic
def resolve_escalation(escalation: Escalation, *, actor: Any, result: str, note: str = "") -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.state == EscalationState.RESOLVED:
        raise ActionRefused(_("The result is already recorded."))
    if escalation.state == EscalationState.OPEN:
        escalation.acknowledged_at = clock.now()
        escalation.acknowledged_by = actor
    escalation.state = EscalationState.RESOLVED
    escalation.result = result
    escalation.result_note = note
    escalation.resolved_at = clock.now()
    escalation.resolved_by = actor
    escalation.save()
    record(
        actor=actor,
        action=AuditAction.ESCALATION_RESOLVED,
        tenant=escalation.tenant_id,
        person=escalation.person_id,
        obj=escalation,
        detail={"result": result, "note": note},
    )
    if escalation.cause == EscalationCause.PLANNED_VISIT and escalation.night_check_id:
        check = Check.objects.select_for_update().get(pk=escalation.night_check_id)
        if check.state == CheckState.VISIT_PENDING:
            _end_check(check, CheckState.DONE, reason=f"visit:{result}", actor=actor)
    return escalation


# --- The shift lead ---------------------------------------------------------------------------------------


def raise_alarm(
    tenant_id: int, kind: str, *, check: Check | None = None, escalation: Escalation | None = None
) -> Alarm:
    alarm = Alarm.objects.create(
        tenant_id=tenant_id, kind=kind, night_check=check, escalation=escalation, created_at=clock.now()
    )
    person_id = check.person_id if check else escalation.person_id if escalation else None
    record(
        actor=None,
        action=AuditAction.ALARM_RAISED,
        tenant=tenant_id,
        person=person_id,
        obj=alarm,
        detail={"kind": kind},
    )
    return alarm


@transaction.atomic
def acknowledge_alarm(alarm: Alarm, *, actor: Any) -> Alarm:
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = clock.now()
        alarm.acknowledged_by = actor
        alarm.save(update_fields=["acknowledged_at", "acknowledged_by"])
        record(actor=actor, action=AuditAction.ALARM_ACKNOWLEDGED, tenant=alarm.tenant_id, obj=alarm)
    return alarm


# --- Worker steps (called by checks.engine, one claimed row at a time) ----------------------------------------


def settle_form(check: Check, now: datetime) -> None:
    """The form planned for a check is a forecast; at due time the rules decide.

    A camera tested or a consent given after planning makes tonight's check a camera
    check; a consent withdrawn or a camera untested makes it a visit.
    """
    agreed_camera = check.agreed_time is not None and check.agreed_time.form == CheckForm.CAMERA
    refusal = camera_allowed_for_person(check.person, now) if agreed_camera else "agreed_physical"
    form = CheckForm.CAMERA if refusal is None else CheckForm.PHYSICAL
    if form != check.form:
        check.form = form
        check.form_note = refusal or ""
        check.save(update_fields=["form", "form_note"])


def make_due(check: Check, now: datetime) -> None:
    settle_form(check, now)
    if check.form == CheckForm.PHYSICAL:
        check.due_at = now
        check.save(update_fields=["due_at"])
        _hand_to_patrol_as_visit(check)
        return
    check.state = CheckState.DUE
    check.due_at = now
    check.save(update_fields=["state", "due_at"])
    record(actor=None, action=AuditAction.CHECK_DUE, tenant=check.tenant_id, person=check.person_id, obj=check, at=now)


def make_retry_due(check: Check, now: datetime) -> None:
    check.state = CheckState.DUE
    check.due_at = now
    check.save(update_fields=["state", "due_at"])


def raise_overdue_alarm(check: Check) -> None:
    check.overdue_alarm_raised = True
    check.save(update_fields=["overdue_alarm_raised"])
    raise_alarm(check.tenant_id, AlarmKind.OVERDUE_CHECK, check=check)


def raise_unacknowledged_alarm(escalation: Escalation) -> None:
    escalation.ack_alarm_raised = True
    escalation.save(update_fields=["ack_alarm_raised"])
    raise_alarm(escalation.tenant_id, AlarmKind.UNACKNOWLEDGED_ESCALATION, escalation=escalation)


def escalate_missed(check: Check) -> None:
    """The window passed with no outcome: somebody must go (nothing silently missed)."""
    escalate(check, cause=EscalationCause.MISSED, actor=None)


@transaction.atomic
def record_camera_probe(camera: Any, *, ok: bool, problem: str, now: datetime, horizon: timedelta) -> list[Escalation]:
    """Store a health probe's result. A confirmed fault escalates the person's camera
    checks due within ``horizon`` at once, so the night patrol can plan the visit.

    One failed probe is not enough: a 4G link drops for seconds and a camera restarts,
    and the patrol must not be sent for that. The worker probes a failing camera again
    after a minute; the second failure in a row is the fault.
    """
    failures = 0 if ok else camera.probe_failures + 1
    Camera.objects.filter(id=camera.id).update(
        last_probe_at=now, last_probe_ok=ok, last_probe_problem=problem, probe_failures=failures
    )
    camera.probe_failures = failures
    if ok or camera.person_id is None or failures < PROBE_FAILURES_FOR_FAULT:
        return []
    record(
        actor=None,
        action=AuditAction.CAMERA_FAULT,
        tenant=camera.tenant_id,
        person=camera.person_id,
        obj=camera,
        detail={"problem": problem, "probe": "worker"},
        at=now,
    )
    upcoming = (
        Check.objects.select_for_update(of=("self",))
        .select_related("person")
        .filter(
            person_id=camera.person_id,
            form=CheckForm.CAMERA,
            scheduled_at__lte=now + horizon,
            state__in=(CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT),
        )
    )
    escalations = []
    for check in upcoming:
        check.camera_fault = problem
        check.save(update_fields=["camera_fault"])
        escalations.append(escalate(check, cause=EscalationCause.TECHNICAL_FAULT, actor=None, note=problem))
    if escalations:
        raise_alarm(camera.tenant_id, AlarmKind.CAMERA_FAULT, check=escalations[0].night_check)
    return escalations


def release_abandoned_attempt(check: Check, now: datetime) -> bool:
    """An opened check that nobody is looking at goes back to the queue
    (``attempt_held_until``); True if it was released."""
    attempt = current_attempt(check)
    if attempt is not None and now < attempt_held_until(attempt):
        return False
    check.state = CheckState.DUE
    check.save(update_fields=["state"])
    record(
        actor=None,
        action=AuditAction.CHECK_RELEASED,
        tenant=check.tenant_id,
        person=check.person_id,
        obj=check,
        detail={"attempt": attempt.id if attempt is not None else None},
        at=now,
    )
    return True


# --- Readying cameras before the click ------------------------------------------------------------------

# The first settings.PREPARE_AHEAD due checks of a municipality have their cameras
# pulled by the gateway before anyone clicks, so the picture starts from the camera's
# newest keyframe at once instead of waiting up to a keyframe interval (and a pan/tilt
# camera's 1–3 s move) after the click.
# A preparation lasts at most this long (renewed while still wanted), never past the
# check's window, consent or decision.
PREPARATION_LEASE = timedelta(minutes=5)
PREPARATION_RENEW_BEFORE = timedelta(seconds=30)
# An operator's console polls every 5 s; one silent this long is closed.
CONSOLE_PRESENT = timedelta(seconds=30)


def note_console_open(tenant_ids: Iterable[int], now: datetime) -> None:
    """An operator's console of these municipalities is open (it just polled); one
    upsert, so a poll costs the same query whether the row exists or not."""
    ConsolePresence.objects.bulk_create(
        [ConsolePresence(tenant_id=tenant_id, last_seen=now) for tenant_id in tenant_ids],
        update_conflicts=True,
        unique_fields=["tenant"],
        update_fields=["last_seen"],
    )


def preparations_no_longer_wanted(now: datetime) -> Any:
    """Live preparations whose check is no longer due (opened, ended, waiting for its
    retry) or whose municipality has no console open."""
    present = ConsolePresence.objects.filter(last_seen__gte=now - CONSOLE_PRESENT).values("tenant_id")
    return (
        covering_grants(now)
        .filter(purpose=GrantPurpose.PREPARE)
        .exclude(prepared_check__state=CheckState.DUE, tenant_id__in=present)
    )


def checks_to_prepare(now: datetime) -> list[int]:
    """The first settings.PREPARE_AHEAD due camera checks of each municipality with a
    console open, that have no preparation lasting beyond the next renewal."""
    if settings.PREPARE_AHEAD <= 0:
        return []
    present = ConsolePresence.objects.filter(last_seen__gte=now - CONSOLE_PRESENT).values_list("tenant_id", flat=True)
    prepared = set(
        covering_grants(now)
        .filter(purpose=GrantPurpose.PREPARE, hard_end__gt=now + PREPARATION_RENEW_BEFORE)
        .values_list("prepared_check_id", flat=True)
    )
    wanted: list[int] = []
    for tenant_id in present:
        first = Check.objects.filter(tenant_id=tenant_id, state=CheckState.DUE, form=CheckForm.CAMERA).order_by(
            "due_at", "scheduled_at", "id"
        )[: settings.PREPARE_AHEAD]
        wanted.extend(check_id for check_id in first.values_list("id", flat=True) if check_id not in prepared)
    return wanted


def prepare_check(check: Check, now: datetime) -> ViewGrant | None:
    """Ready the camera of a due check: out of its privacy position and pulled by the
    gateway, which holds the newest group of pictures and shows it to nobody until the
    operator's own grant is redeemed. Only inside what an open would allow now."""
    if check.state != CheckState.DUE or camera_check_openable(check, now) is not None:
        return None
    view_ends_by = camera_check_view_ends_by(check, now)
    lease_end = now + PREPARATION_LEASE
    grant, _token = issue_grant(
        check.person.camera,
        actor=None,
        purpose=GrantPurpose.PREPARE,
        person=check.person,
        hard_end=min(view_ends_by, lease_end) if view_ends_by is not None else lease_end,
        prepared_check=check,
    )
    return grant


def end_preparations(grants: Any, *, reason: str) -> int:
    return revoke_grants(grants, reason=reason)
