"""Planning a night's checks from the agreements (set-based; see ``plan_night``)."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, cast

from django.db import transaction

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from cameras.policy import camera_allowed_for_person
from checks.actions.persistence import fetch_rows, insert_checks
from checks.actions.planning_facts import planning_facts
from checks.models import AgreedTime, Check, CheckForm, CheckState
from checks.nights import clock_gap, is_skipped, night_bounds, person_instants, scheduled_instant
from checks.reasons import absence_reason
from people.models import Person


def plan_night(tenant: Tenant, night: Any, *, now: datetime, changed_since: datetime | None = None) -> int:
    """Create the checks of ``night`` for the persons of ``tenant``; idempotent.

    With ``changed_since``, only persons whose agreement or decision changed after it
    are looked at (the worker plans each night fully once, then incrementally).

    Set-based, so a night of 100,000 persons plans in seconds (benchmarks/scale_plan.py):
    1. the agreed times of the persons looked at, each local time turned into its instant
       once (a night has a few dozen distinct times, not 300,000);
    2. minus the checks planned already;
    3. only for what is left, the person's decisions, consents, absences and camera, read
       in one query each (``planning_facts``), the same rules as ever (``Decision.covers``,
       ``camera_allowed_for_person``) asked of them, and ``check_to_plan`` deciding what
       each agreed time becomes;
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
    rows = list(fetch_rows(agreed_times.values_list("id", "agreement__person_id", "time", "form")))
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

    facts = planning_facts(person_ids, night_start, night_end)
    all_instants = {*instants.values(), *moved.values()}
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
        """The new checks, in the order of PLANNED_COLUMNS, made while the database
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
            refusal: str | None
            if known is None:
                covered = any(decision.covers(scheduled_at) for decision in person.decisions)
                refusal = camera_allowed_for_person(cast(Person, person), scheduled_at) if covered else None
                if person.steady_through(night_start, night_end):
                    steady[person_id] = (covered, refusal)
            else:
                covered, refusal = known
            absence = person.absence_at(scheduled_at) if person.absences else None
            planned = _check_to_plan_remembered(form, covered, refusal, absence.kind if absence else None)
            if planned is None:
                continue
            state, form, form_note, end_reason = planned
            if moved_agreed and agreed_id in moved_agreed:
                moved_planned[person_id].append((moved_agreed[agreed_id], scheduled_at))
            ended_at = None
            if state == CheckState.CANCELLED:
                ended_at = scheduled_at
                cancelled[person_id].append((scheduled_at, end_reason))
            yield (person_id, agreed_id, scheduled_at, form, form_note, state, ends[scheduled_at], ended_at, end_reason)

    with transaction.atomic():
        planned = insert_checks(tenant, night, planned_rows())
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


class PlannedCheck(NamedTuple):
    state: str
    form: str
    form_note: str
    end_reason: str


def check_to_plan(
    form: str, *, covered: bool, camera_refusal: str | None, absence_kind: str | None
) -> PlannedCheck | None:
    """The rule for one agreed time of one night, given what holds at its instant.

    1. No decision covers the night: no check at all (``None``).
    2. The person is away (an absence covers the instant): a check cancelled at once,
       with the absence as its reason, so the person's extract shows why nobody looked.
    3. A camera check the camera rules refuse (no consent, camera untested …): planned
       as a visit, the refusal its note. A forecast for the console; at due time
       ``settle_form`` asks the rules again.
    4. Otherwise: planned in the agreed form.
    """
    if not covered:
        return None
    if absence_kind is not None:
        return PlannedCheck(CheckState.CANCELLED, form, "", absence_reason(absence_kind))
    if form == CheckForm.CAMERA and camera_refusal is not None:
        return PlannedCheck(CheckState.PLANNED, CheckForm.PHYSICAL, camera_refusal, "")
    return PlannedCheck(CheckState.PLANNED, form, "", "")


@functools.cache
def _check_to_plan_remembered(
    form: str, covered: bool, camera_refusal: str | None, absence_kind: str | None
) -> PlannedCheck | None:
    """``check_to_plan``, remembered: a night asks it 300,000 times and has a handful of
    distinct answers (forms × refusal codes × kinds of absence), so each is worked out once."""
    return check_to_plan(form, covered=covered, camera_refusal=camera_refusal, absence_kind=absence_kind)


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
