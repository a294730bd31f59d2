"""The figures behind every report, counted by the database.

Each function runs a fixed number of aggregate queries whatever the number of persons
or checks; Python only adds up the grouped rows (a few hundred per unit, night and
agreed instant). The monthly report must stay under 2 s on a year of 10,000 persons
(docs/REPORTS.md, benchmarks/report_monthly.py), which is why its queries differ from
the simpler filtered counts used for one night or one person.

A night belongs to the month, period or report of the date on which it begins
(checks.nights), so "November" is the nights beginning 1–30 November.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractHour
from django.utils.translation import gettext_lazy

from accounts.models import Tenant
from cameras.models import Camera
from cameras.policy import refusal_message
from checks.models import (
    Attempt,
    Check,
    CheckForm,
    CheckState,
    Escalation,
    EscalationCause,
    EscalationResult,
    EscalationState,
    Outcome,
)
from checks.nights import NIGHT_STARTS, night_bounds, night_of
from checks.reasons import ReasonKind, prefix
from nattillsyn import clock
from nattillsyn.clock import STOCKHOLM
from nattillsyn.codes import label
from people.models import Person
from reports.counting import (
    ENDED,
    ON_TIME_WITHIN,
    PUNCTUALITY_BASE,
    analytic_queries,
)
from reports.tally import night_counts

T = TypeVar("T")

VISIT_REASON = prefix(ReasonKind.VISIT)  # a visited check ends with checks.reasons.visit_reason
VISIT_RESULTS = (EscalationResult.VISITED_OK, EscalationResult.VISITED_NEEDED_HELP, EscalationResult.NOT_HOME)
# Hours in the order of a night, from when a night begins (12:00) to the next noon.
NIGHT_HOURS = [(NIGHT_STARTS.hour + offset) % 24 for offset in range(24)]


def night_hours_without_gaps(found: dict[int, T], make: Callable[[int], T]) -> list[T]:
    """The hours of a night in order, from the first to the last with checks, gaps filled."""
    present = [hour for hour in NIGHT_HOURS if hour in found]
    if not present:
        return []
    span = NIGHT_HOURS[NIGHT_HOURS.index(present[0]) : NIGHT_HOURS.index(present[-1]) + 1]
    return [found[hour] if hour in found else make(hour) for hour in span]


def percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def period_instants(first_night: date, end_night: date) -> tuple[datetime, datetime]:
    """UTC instants covering the nights first_night … end_night (exclusive)."""
    return night_bounds(first_night)[0], night_bounds(end_night)[0]


def month_nights(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    end = (first + timedelta(days=32)).replace(day=1)
    return first, end


def last_night(now: datetime) -> date:
    """The night a morning report is about: the one that ended most recently (at noon)."""
    tonight = night_of(now)
    local = now.astimezone(STOCKHOLM)
    return tonight if local.time() < NIGHT_STARTS else tonight - timedelta(days=1)


def first_attempt_on_time() -> Exists:
    """Some attempt opened by the agreed time + 5 minutes; the first is then one of them."""
    return Exists(
        Attempt.objects.filter(night_check=OuterRef("pk"), opened_at__lte=OuterRef("scheduled_at") + ON_TIME_WITHIN)
    )


def check_counts() -> dict[str, Count]:
    """Filtered counts over the checks of a night or of one person's period.

    The on-time counts probe the attempts once per check: right for a few thousand
    checks, too slow for a month of a municipality, which _monthly_figures counts with a
    semi-join instead.
    """
    return {
        "checks": Count("id", filter=Q(state__in=ENDED)),
        "cancelled": Count("id", filter=Q(state=CheckState.CANCELLED)),
        "done": Count("id", filter=Q(state=CheckState.DONE)),
        "done_camera": Count("id", filter=Q(state=CheckState.DONE, form=CheckForm.CAMERA)),
        "done_physical": Count("id", filter=Q(state=CheckState.DONE, form=CheckForm.PHYSICAL)),
        "escalated": Count("id", filter=Q(state=CheckState.ESCALATED)),
        "camera_ended": Count("id", filter=PUNCTUALITY_BASE),
        "retries": Count("id", filter=Q(not_visible_count__gte=1)),
        "done_camera_on_time": Count(
            "id", filter=Q(first_attempt_on_time(), state=CheckState.DONE, form=CheckForm.CAMERA)
        ),
        "on_time": Count("id", filter=Q(first_attempt_on_time()) & PUNCTUALITY_BASE),
    }


@dataclass
class CheckFigures:
    """Counts over a set of checks; added up from grouped rows."""

    checks: int = 0  # ended: done or escalated (planned, open and cancelled ones are not counted)
    cancelled: int = 0
    done: int = 0
    done_camera: int = 0
    done_camera_on_time: int = 0
    done_physical: int = 0
    escalated: int = 0
    camera_ended: int = 0
    on_time: int = 0
    retries: int = 0

    def add_row(self, row: dict) -> None:
        for name in CHECK_COUNT_NAMES:
            setattr(self, name, getattr(self, name) + (row.get(name) or 0))

    def add_state_row(self, row: dict) -> None:
        """Add ``n`` checks of one state (and form): a row grouped by state instead of counted
        with filters, which the database does faster over a month of a municipality."""
        n, state, form = row["n"], row["state"], row.get("form")
        if state in ENDED:
            self.checks += n
            if form == CheckForm.CAMERA:
                self.camera_ended += n - row.get("faulty", 0)
        if state == CheckState.CANCELLED:
            self.cancelled += n
        elif state == CheckState.DONE:
            self.done += n
            if form == CheckForm.CAMERA:
                self.done_camera += n
            elif form == CheckForm.PHYSICAL:
                self.done_physical += n
        elif state == CheckState.ESCALATED:
            self.escalated += n
        self.retries += row.get("retried", 0)

    @property
    def on_time_rate(self) -> Decimal | None:
        return percent(self.on_time, self.camera_ended)

    @property
    def done_camera_late(self) -> int:
        return self.done_camera - self.done_camera_on_time


CHECK_COUNT_NAMES = [f.name for f in fields(CheckFigures)]


@dataclass
class UnitFigures(CheckFigures):
    unit: str = ""
    persons: int = 0
    persons_camera: int = 0
    visits_made: int = 0  # agreed visits and escalations that ended with somebody there
    faults: int = 0
    fault_nights: int = 0
    views: int = 0
    view_time: timedelta = timedelta(0)

    @property
    def persons_physical_only(self) -> int:
        return self.persons - self.persons_camera

    @property
    def visits_avoided(self) -> int:
        # Each camera check done is a visit that would otherwise have been made.
        return self.done_camera

    @property
    def average_view_s(self) -> Decimal | None:
        if not self.views:
            return None
        return (Decimal(self.view_time.total_seconds()) / self.views).quantize(Decimal("0.1"), ROUND_HALF_UP)

    def add(self, other: UnitFigures) -> None:
        for item in fields(self):
            if item.name != "unit":
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass
class NightFigures(CheckFigures):
    night: date = date.min


@dataclass
class HourFigures(CheckFigures):
    hour: int = 0


@dataclass
class CauseFigures:
    cause: str
    total: int = 0
    results: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(EscalationCause(self.cause).label)

    @property
    def unresolved(self) -> int:
        return self.results.get("", 0)

    def add(self, result: str, n: int) -> None:
        self.total += n
        self.results[result] = self.results.get(result, 0) + n


@dataclass
class MonthlyFigures:
    tenant: Tenant
    month: date
    units: list[UnitFigures]
    total: UnitFigures
    nights: list[NightFigures]
    hours: list[HourFigures]
    causes: list[CauseFigures]


def _checks_between(tenant: Tenant, first: date, end: date) -> QuerySet[Check]:
    return Check.objects.filter(tenant=tenant, night__gte=first, night__lt=end).order_by()


def monthly_figures(tenant: Tenant, month: date) -> MonthlyFigures:
    """Everything in the management report for one tenant and month: a fixed number of queries."""
    with analytic_queries():
        return _monthly_figures(tenant, month)


def _monthly_figures(tenant: Tenant, month: date) -> MonthlyFigures:
    first, end = month_nights(month)
    start, stop = period_instants(first, end)
    units: dict[str, UnitFigures] = defaultdict(UnitFigures)
    nights: dict[date, NightFigures] = {}
    hours: dict[int, HourFigures] = {}

    # 1. Checks per night and agreed instant, by state and form: read in the order of the
    #    reports_check_month index, so the database groups without sorting or hashing.
    #    The local hour is worked out here, once per instant, not ~850,000 times there.
    #    These counts are also each night's fingerprint for its tally (reports/tally.py).
    fingerprints: dict[date, Counter] = defaultdict(Counter)
    checks = _checks_between(tenant, first, end)
    for row in checks.values("night", "scheduled_at", "state", "form").annotate(
        n=Count("id"),
        retried=Count("id", filter=Q(not_visible_count__gte=1)),
        faulty=Count("id", filter=~Q(camera_fault="")),
    ):
        nights.setdefault(row["night"], NightFigures(night=row["night"])).add_state_row(row)
        hour = row["scheduled_at"].astimezone(STOCKHOLM).hour
        hours.setdefault(hour, HourFigures(hour=hour)).add_state_row(row)
        fingerprints[row["night"]][(row["state"], row["form"])] += row["n"]

    # 2. Per unit: checks by state, form and end reason, on time, and view time; from the
    #    tallies of settled nights, counted now for the others. A visit's result is in its
    #    check's end reason ("visit:visited_ok"), so agreed visits need no escalation query.
    causes: dict[str, CauseFigures] = {}
    planned = CauseFigures(cause=EscalationCause.PLANNED_VISIT)
    tallies, view_tallies = night_counts(tenant, fingerprints, now=clock.now())
    for tally in tallies:
        unit = units[tally.unit]
        unit.add_state_row({"n": tally.checks, "state": tally.state, "form": tally.form,
                            "retried": tally.retried, "faulty": tally.faulty})  # fmt: skip
        for figures in (unit, nights[tally.night]):
            figures.on_time += tally.on_time
            if tally.state == CheckState.DONE:
                figures.done_camera_on_time += tally.on_time
        if tally.state == CheckState.DONE and tally.end_reason.startswith(VISIT_REASON):
            result = tally.end_reason.removeprefix(VISIT_REASON)
            planned.add(result, tally.checks)
            if result in VISIT_RESULTS:
                unit.visits_made += tally.checks
        elif tally.state == CheckState.VISIT_PENDING:
            planned.add("", tally.checks)
    if planned.total:
        causes[planned.cause] = planned
    for view_tally in view_tallies:
        units[view_tally.unit].views += view_tally.views
        units[view_tally.unit].view_time += view_tally.view_time

    # 3. Persons with camera checks, and with any checks, this month.
    for unit_name, persons in persons_by_unit(tenant, start, stop).items():
        units[unit_name].persons += persons["persons"]
        units[unit_name].persons_camera += persons["persons_camera"]

    # 4. Escalations of failed checks by unit, cause and result (each failed check escalates
    #    once, so the escalations of a night are its escalated checks, counted above).
    escalations = (
        Escalation.objects.filter(tenant=tenant, created_at__gte=start, created_at__lt=stop)
        .exclude(cause=EscalationCause.PLANNED_VISIT)
        .order_by()
    )
    for row in escalations.values("person__unit", "cause", "result").annotate(n=Count("id")):
        unit = units[row["person__unit"]]
        if row["result"] in VISIT_RESULTS:
            unit.visits_made += row["n"]
        if row["cause"] == EscalationCause.TECHNICAL_FAULT:
            unit.faults += row["n"]
        causes.setdefault(row["cause"], CauseFigures(cause=row["cause"])).add(row["result"], row["n"])

    # 5. Downtime: nights on which a person's camera had a fault (repairs are not recorded,
    #    so affected camera-nights are what can be counted honestly).
    for row in (
        escalations.filter(cause=EscalationCause.TECHNICAL_FAULT)
        .values("person__unit", "night_check__night")
        .annotate(persons=Count("person", distinct=True))
    ):
        units[row["person__unit"]].fault_nights += row["persons"]

    unit_list = []
    total = UnitFigures(unit="")
    for name in sorted(units, key=lambda name: (name == "", name.casefold())):
        figures = units[name]
        figures.unit = name
        unit_list.append(figures)
        total.add(figures)
    night_list = [
        nights.get(first + timedelta(days=offset)) or NightFigures(night=first + timedelta(days=offset))
        for offset in range((end - first).days)
    ]
    hour_list = night_hours_without_gaps(hours, lambda hour: HourFigures(hour=hour))
    cause_list = sorted(causes.values(), key=lambda cause: -cause.total)
    return MonthlyFigures(
        tenant=tenant, month=first, units=unit_list, total=total, nights=night_list, hours=hour_list, causes=cause_list
    )


def persons_by_unit(tenant: Tenant, start: datetime, stop: datetime) -> dict[str, dict[str, int]]:
    """Persons with any check, and with a camera check, between two instants, per unit.
    One probe per person into the (person, scheduled_at) unique index."""
    checks = Check.objects.filter(person=OuterRef("pk"), scheduled_at__gte=start, scheduled_at__lt=stop)
    rows = (
        Person.objects.filter(tenant=tenant)
        .order_by()
        .values("unit")
        .annotate(
            persons=Count("id", filter=Q(Exists(checks))),
            persons_camera=Count("id", filter=Q(Exists(checks.filter(form=CheckForm.CAMERA)))),
        )
    )
    return {row["unit"]: row for row in rows if row["persons"]}


@dataclass
class BenefitBasis:
    visits_avoided: int
    camera_persons: int


def benefit_basis(tenant: Tenant, month: date) -> BenefitBasis:
    """Only what the benefit calculation needs: two cheap counts."""
    first, end = month_nights(month)
    with analytic_queries():
        visits_avoided = (
            _checks_between(tenant, first, end).filter(state=CheckState.DONE, form=CheckForm.CAMERA).count()
        )
        persons = persons_by_unit(tenant, *period_instants(first, end))
    return BenefitBasis(
        visits_avoided=visits_avoided, camera_persons=sum(row["persons_camera"] for row in persons.values())
    )


# --- Tonight and this morning ---------------------------------------------------------------------------------


@dataclass
class TonightFigures:
    night: date
    counts: dict[str, int]
    hours: list[dict]
    overdue: list[Check]
    open_escalations: list[Escalation]


def tonight_figures(tenant: Tenant, now: datetime) -> TonightFigures:
    night = night_of(now)
    checks = Check.objects.filter(tenant=tenant, night=night).order_by()
    overdue_filter = Q(
        state=CheckState.DUE, form=CheckForm.CAMERA, due_at__lte=now - timedelta(minutes=tenant.overdue_grace_min)
    )
    counts = checks.aggregate(
        total=Count("id"),
        done=Count("id", filter=Q(state=CheckState.DONE)),
        waiting=Count("id", filter=Q(state=CheckState.PLANNED)),
        due=Count("id", filter=Q(state__in=(CheckState.DUE, CheckState.IN_PROGRESS, CheckState.RETRY_WAIT))),
        overdue=Count("id", filter=overdue_filter),
        retried=Count("id", filter=Q(not_visible_count__gte=1)),
        escalated=Count("id", filter=Q(state=CheckState.ESCALATED)),
        visits_pending=Count("id", filter=Q(state=CheckState.VISIT_PENDING)),
        cancelled=Count("id", filter=Q(state=CheckState.CANCELLED)),
    )
    open_escalations = list(
        Escalation.objects.filter(tenant=tenant)
        .exclude(state=EscalationState.RESOLVED)
        .select_related("person", "night_check", "acknowledged_by")
        .order_by("created_at")
    )
    counts["open_escalations"] = sum(1 for e in open_escalations if e.cause != EscalationCause.PLANNED_VISIT)
    counts["faults"] = Escalation.objects.filter(
        tenant=tenant, night_check__night=night, cause=EscalationCause.TECHNICAL_FAULT
    ).count()
    hours = {
        row["hour"]: row
        for row in checks.exclude(state=CheckState.CANCELLED)
        .values(hour=ExtractHour("scheduled_at", tzinfo=STOCKHOLM))
        .annotate(
            done=Count("id", filter=Q(state=CheckState.DONE)),
            escalated=Count("id", filter=Q(state=CheckState.ESCALATED)),
            open=Count("id", filter=~Q(state__in=ENDED)),
        )
    }
    hour_rows = night_hours_without_gaps(hours, lambda hour: {"hour": hour, "done": 0, "escalated": 0, "open": 0})
    overdue = list(checks.filter(overdue_filter).select_related("person").order_by("due_at"))
    return TonightFigures(
        night=night, counts=counts, hours=hour_rows, overdue=overdue, open_escalations=open_escalations
    )


@dataclass
class DayStaffAction:
    kind: str  # "camera", "agreement", "escalation"
    person: Person
    reason: str


@dataclass
class MorningFigures:
    night: date
    checks: list[Check]
    escalations: list[Escalation]
    faults: list[Escalation]
    actions: list[DayStaffAction]
    totals: CheckFigures


def morning_figures(tenant: Tenant, night: date) -> MorningFigures:
    """Every check of one night with its end state, its escalations, faults and follow-ups."""
    checks_qs = Check.objects.filter(tenant=tenant, night=night)
    totals = CheckFigures()
    totals.add_row(checks_qs.order_by().aggregate(**check_counts()))
    checks = list(
        checks_qs.select_related("person").prefetch_related("attempts").order_by("scheduled_at", "person__name")
    )
    escalations = list(
        Escalation.objects.filter(tenant=tenant, night_check__night=night)
        .select_related("person", "night_check", "resolved_by")
        .order_by("created_at")
    )
    faults = [e for e in escalations if e.cause == EscalationCause.TECHNICAL_FAULT]
    failing_cameras = list(
        Camera.objects.filter(tenant=tenant, person__isnull=False, last_probe_ok=False).select_related("person")
    )
    return MorningFigures(
        night=night,
        checks=checks,
        escalations=escalations,
        faults=faults,
        actions=day_staff_actions(checks, escalations, failing_cameras),
        totals=totals,
    )


# Why a camera time became a visit (Check.form_note), worded for the day staff.
FORM_NOTES = {
    "no_valid_consent": gettext_lazy("There is no valid consent to camera supervision."),
    "no_co_resident_consent": gettext_lazy("Someone living in the home has not consented to camera supervision."),
    "no_valid_decision": gettext_lazy("There is no valid decision on night supervision."),
    "no_camera": gettext_lazy("No camera is assigned to the person."),
    "camera_not_tested": gettext_lazy("The camera's installation test has not been passed."),
}


def day_staff_actions(
    checks: list[Check], escalations: list[Escalation], failing_cameras: list[Camera]
) -> list[DayStaffAction]:
    """What the day staff must follow up: cameras to repair, agreements to review,
    escalations still without a result. One line per person and kind."""
    from django.utils.translation import gettext as _

    found: dict[tuple[str, int], DayStaffAction] = {}

    def add(kind: str, person: Person, reason: str) -> None:
        key = (kind, person.id)
        if key in found:
            if reason not in found[key].reason:
                found[key].reason += f"; {reason}"
        else:
            found[key] = DayStaffAction(kind=kind, person=person, reason=reason)

    for camera in failing_cameras:
        if camera.person is None:
            continue
        add(
            "camera",
            camera.person,
            _("Camera %(camera)s fails its health check: %(problem)s")
            % {"camera": camera.name, "problem": label(camera.last_probe_problem) or "?"},
        )
    for escalation in escalations:
        if escalation.cause == EscalationCause.TECHNICAL_FAULT:
            problem = escalation.night_check.camera_fault if escalation.night_check else ""
            add("camera", escalation.person, label(problem) or _("The operator reported a technical fault"))
        elif escalation.cause == EscalationCause.NOT_VISIBLE:
            add(
                "agreement",
                escalation.person,
                _("Not visible twice: check the camera's placement and the agreed times"),
            )
        elif escalation.cause == EscalationCause.NEEDS_HELP:
            add("agreement", escalation.person, _("Needed help during the night: review the support"))
        if escalation.state != EscalationState.RESOLVED:
            add(
                "escalation",
                escalation.person,
                _("%(cause)s: no result recorded") % {"cause": escalation.get_cause_display()},
            )
    for check in checks:
        if check.form_note and check.form_note != "agreement_changed":
            add(
                "agreement",
                check.person,
                _("Camera check made as a visit: %(reason)s")
                % {"reason": FORM_NOTES.get(check.form_note) or refusal_message(check.form_note)},
            )
    order = {"camera": 0, "agreement": 1, "escalation": 2}
    return sorted(found.values(), key=lambda action: (order[action.kind], action.person.name))


def attempt_outcomes(check: Check) -> list[str]:
    return [str(Outcome(attempt.outcome).label) if attempt.outcome else "…" for attempt in check.attempts.all()]


def check_on_time(check: Check) -> bool | None:
    """Was the first attempt opened within 5 minutes? None for checks with no attempt."""
    attempts = list(check.attempts.all())
    if not attempts:
        return None
    return min(attempt.opened_at for attempt in attempts) <= check.scheduled_at + ON_TIME_WITHIN


# --- One person over a period ---------------------------------------------------------------------------------


@dataclass
class PersonHistory:
    person: Person
    first: date
    end: date
    nights: list[NightFigures]
    totals: CheckFigures
    attempts_with_outcome: int
    not_visible: int
    escalations: list[Escalation]
    faults: list[Escalation]
    skipped: list[tuple[date, str]]

    @property
    def not_visible_rate(self) -> Decimal | None:
        return percent(self.not_visible, self.attempts_with_outcome)

    def every_night(self) -> list[NightFigures]:
        """Every night of the period, those without checks as zeros: a time axis for the chart."""
        found = {night.night: night for night in self.nights}
        days = (self.first + timedelta(days=offset) for offset in range((self.end - self.first).days))
        return [found.get(day) or NightFigures(night=day) for day in days]


def person_history(person: Person, first: date, end: date) -> PersonHistory:
    """Nights first … end (exclusive) for one person: five queries on the person's index."""
    start, stop = period_instants(first, end)
    checks = Check.objects.filter(person=person, scheduled_at__gte=start, scheduled_at__lt=stop).order_by()
    nights = []
    totals = CheckFigures()
    for row in checks.values("night").annotate(**check_counts()).order_by("night"):
        night = NightFigures(night=row["night"])
        night.add_row(row)
        totals.add_row(row)
        nights.append(night)
    outcomes = Attempt.objects.filter(
        night_check__person=person, night_check__scheduled_at__gte=start, night_check__scheduled_at__lt=stop
    ).aggregate(
        with_outcome=Count("id", filter=~Q(outcome="")), not_visible=Count("id", filter=Q(outcome=Outcome.NOT_VISIBLE))
    )
    escalations = list(
        Escalation.objects.filter(person=person, created_at__gte=start, created_at__lt=stop)
        .exclude(cause=EscalationCause.PLANNED_VISIT)
        .select_related("night_check", "resolved_by")
        .order_by("created_at")
    )
    skipped = list(
        checks.filter(state=CheckState.CANCELLED, end_reason__startswith=prefix(ReasonKind.ABSENCE))
        .values_list("night", "end_reason")
        .distinct()
        .order_by("night")
    )
    return PersonHistory(
        person=person,
        first=first,
        end=end,
        nights=nights,
        totals=totals,
        attempts_with_outcome=outcomes["with_outcome"],
        not_visible=outcomes["not_visible"],
        escalations=escalations,
        faults=[e for e in escalations if e.cause == EscalationCause.TECHNICAL_FAULT],
        skipped=skipped,
    )
