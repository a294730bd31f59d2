"""What a letter "who looked at me" tells: for each person and one month, every camera
view of their home, every visit of the night patrol and every night skipped.

Set-based: ``month_letters`` reads any number of persons in a fixed number of queries
(one per kind of row), so a municipality's 10,000 letters are made chunk by chunk
without a query per person (letters/tests/test_letters.py pins the count).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from accounts.models import Role, Tenant
from cameras.models import GrantPurpose, ViewGrant
from checks.models import Attempt, Escalation, EscalationResult
from nattillsyn import clock
from people.models import Absence, Person

# What the patrol records when somebody went to the home; a phone call is no visit.
VISIT_RESULTS = (EscalationResult.VISITED_OK, EscalationResult.VISITED_NEEDED_HELP, EscalationResult.NOT_HOME)


class ViewReason:
    """Why someone looked (the letter's words are in letters.pdf)."""

    SCHEDULED = "scheduled"
    RETRY = "retry"
    INSTALLATION_TEST = "installation_test"
    TRAINING = "training"


@dataclass(slots=True)
class View:
    at: datetime  # Swedish time
    seconds: int | None
    role: str
    organisation: str
    operator_name: str  # empty unless the municipality shows it
    reason: str
    outcome: str  # an Outcome value, or empty
    clear_picture_reason: str = ""  # a ClearPictureReason: the person chose blurred, the operator switched


@dataclass(slots=True)
class Visit:
    at: datetime
    cause: str  # EscalationCause
    result: str  # EscalationResult


@dataclass(slots=True)
class SkippedStretch:
    kind: str  # AbsenceKind
    starts_at: datetime
    ends_at: datetime


@dataclass
class Letter:
    person_id: int
    name: str
    address: str
    tenant: Tenant
    month: date
    views: list[View] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    skipped: list[SkippedStretch] = field(default_factory=list)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month as instants: from its first midnight to the next month's, Swedish time."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return clock.day_starts(first), clock.day_starts(following)


def month_letters(tenant: Tenant, month: date, person_ids: Iterable[int]) -> list[Letter]:
    """The letters of these persons of ``tenant`` for ``month``, in ``person_ids``' order;
    five queries whatever their number."""
    ids = list(person_ids)
    start, end = month_bounds(month)
    letters = {
        person_id: Letter(person_id, name, address, tenant, month.replace(day=1))
        for person_id, name, address in Person.objects.filter(tenant=tenant, id__in=ids).values_list(
            "id", "name", "address"
        )
    }
    present = list(letters)
    _add_views(letters, tenant, present, start, end)
    for person_id, at, cause, result in (
        Escalation.objects.filter(
            person_id__in=present, resolved_at__gte=start, resolved_at__lt=end, result__in=VISIT_RESULTS
        )
        .order_by("resolved_at")
        .values_list("person_id", "resolved_at", "cause", "result")
    ):
        # resolved_at is set on every row the filter lets through
        letters[person_id].visits.append(Visit(cast(datetime, at).astimezone(clock.STOCKHOLM), cause, result))
    for person_id, kind, starts_at, ends_at in (
        Absence.objects.filter(person_id__in=present, starts_at__lt=end, ends_at__gt=start)
        .order_by("starts_at")
        .values_list("person_id", "kind", "starts_at", "ends_at")
    ):
        letters[person_id].skipped.append(
            SkippedStretch(kind, starts_at.astimezone(clock.STOCKHOLM), ends_at.astimezone(clock.STOCKHOLM))
        )
    return [letters[person_id] for person_id in ids if person_id in letters]


def _add_views(letters: dict[int, Letter], tenant: Tenant, present: list[int], start: datetime, end: datetime) -> None:
    """Every view that started (a grant redeemed: the picture went to someone) in the
    month, with the attempt's place in its check: a second attempt is a retry."""
    show_name = tenant.show_operator_name_in_letters
    views = (
        ViewGrant.objects.filter(
            person_id__in=present,
            redeemed_at__gte=start,
            redeemed_at__lt=end,
            purpose__in=(GrantPurpose.CHECK, GrantPurpose.INSTALL_TEST),
        )
        .order_by("redeemed_at")
        .values_list(
            "person_id",
            "purpose",
            "redeemed_at",
            "first_frame_at",
            "ended_at",
            "tenant__name",
            "operator__first_name",
            "operator__last_name",
            "operator__username",
            "attempt_id",
            "attempt__night_check_id",
            "attempt__outcome",
            "clear_picture_reason",
        )
    )
    rows = list(views)
    check_ids = {row[10] for row in rows if row[10] is not None}
    # Attempt ids in opening order per check; a check spans at most a night, so the
    # attempts of the month's checks are few and come in one query.
    order: dict[int, list[int]] = defaultdict(list)
    if check_ids:
        for attempt_id, check_id in (
            Attempt.objects.filter(night_check_id__in=check_ids)
            .order_by("opened_at", "id")
            .values_list("id", "night_check_id")
        ):
            order[check_id].append(attempt_id)
    operator_role = str(Role.OPERATOR.label)
    for (
        person_id,
        purpose,
        redeemed_at,
        first_frame_at,
        ended_at,
        organisation,
        first_name,
        last_name,
        username,
        attempt_id,
        check_id,
        outcome,
        clear_picture_reason,
    ) in rows:
        began = cast(datetime, first_frame_at or redeemed_at)  # redeemed: the filter
        seconds = None if ended_at is None else max(0, round((ended_at - began).total_seconds()))
        if purpose == GrantPurpose.INSTALL_TEST:
            reason = ViewReason.INSTALLATION_TEST
        elif check_id is not None and order[check_id].index(attempt_id) > 0:
            reason = ViewReason.RETRY
        else:
            reason = ViewReason.SCHEDULED
        name = f"{first_name} {last_name}".strip() or username if show_name else ""
        letters[person_id].views.append(
            View(
                at=began.astimezone(clock.STOCKHOLM),
                seconds=seconds,
                role=operator_role,
                organisation=organisation,
                operator_name=name,
                reason=reason,
                outcome=outcome or "",
                clear_picture_reason=clear_picture_reason,
            )
        )
