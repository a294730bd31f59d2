"""The demo's night: check times over the coming hours, a month of history behind it,
and a few things already going wrong when the demo starts (seed_demo).

History is written as bulk rows of the shape the actions leave behind (checks,
attempts, view grants, escalations; as benchmarks/report_monthly.py does): driving
some 2,000 checks through the actions would take a minute, and the reports read only
these rows. Tonight's events go through the real actions and the worker.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User

from accounts.models import Tenant
from cameras.models import Camera, GrantPurpose, ViewGrant
from cameras.policy import camera_allowed_for_person
from cameras.simulated import show_picture
from checks import actions
from checks.engine import PROBE_HORIZON, NightWorker
from checks.models import (
    Attempt,
    Check,
    CheckForm,
    CheckState,
    Escalation,
    EscalationCause,
    EscalationKind,
    EscalationResult,
    EscalationState,
    Outcome,
    WorkerHeartbeat,
)
from checks.nights import scheduled_instant
from nattillsyn.clock import STOCKHOLM, FakeClock, day_of
from people.models import Person
from reports.figures import last_night
from reports.tally import tally_recent_nights

# The times every person keeps each night; the history is made of these.
NIGHT_TIMES = (time(23, 0), time(2, 0), time(5, 0))
# Each person also has a check every hour over the coming hours, the persons staggered
# STAGGER apart, so something falls due every few minutes whenever the demo starts.
ROLLING_HOURS = 8
STAGGER = timedelta(minutes=5)
# The persons' agreements are made this long before the demo starts, so the events
# below (a check 35 minutes ago) happen after them, as they would in a real night.
SETUP_LEAD = timedelta(minutes=45)
# Checks already due when the demo starts, by how long ago, and what becomes of them.
IN_FLIGHT = {
    "David Dahl": timedelta(minutes=35),  # seen on the floor: an open escalation for the patrol
    "Folke Fors": timedelta(minutes=30),  # frozen picture: a fault the patrol has acknowledged
    "Cecilia Carlsson": timedelta(minutes=25),  # empty bed: not visible, the retry is due now
    "Bertil Berg": timedelta(minutes=20),  # nobody opened it: an overdue alarm for the shift lead
}
ESCALATION_PLAN = [EscalationKind.VISIT, EscalationKind.CALL_RELATIVE]


def _minute(moment: datetime) -> time:
    return moment.astimezone(STOCKHOLM).time().replace(second=0, microsecond=0)


def agreed_times(index: int, name: str, start: datetime) -> list[time]:
    """Person ``index``'s agreed times: the night's three, one an hour from ``start`` on
    (staggered by person), and the in-flight time before ``start`` if the person has one."""
    first = start + index * STAGGER - timedelta(minutes=3)
    times = {*NIGHT_TIMES, *(_minute(first + timedelta(hours=hour)) for hour in range(ROLLING_HOURS))}
    if name in IN_FLIGHT:
        times.add(_minute(start - IN_FLIGHT[name]))
    return sorted(times)


@dataclass
class Staff:
    operator: User
    patrol: User
    alarm_centre: User


def history_nights(start: datetime) -> tuple[date, date]:
    """From the first night of last month to the night a morning report is about."""
    first = (day_of(start).replace(day=1) - timedelta(days=1)).replace(day=1)
    return first, last_night(start)


def fill_history(tenants: list[Tenant], staff: Staff, *, start: datetime, agreed_at: datetime) -> int:
    """Every night since the first of last month, ended as nights end: mostly seen at once,
    some late, retried, escalated, missed or with a camera fault. Returns the checks made.

    Only checks whose window had closed when the agreements were made (``agreed_at``) are
    history: the worker plans the later ones of the same night (checks.actions.plan_night).
    """
    rng = random.Random(17)  # the same month on every fresh demo
    first, last = history_nights(start)
    persons = list(
        Person.objects.filter(tenant__in=tenants)
        .select_related("tenant", "camera", "agreement")
        .prefetch_related("agreement__times", "consents", "decisions")
        .order_by("id")
    )
    # Each person's form as the rules give it today (untested camera, no consent: visits).
    refusals = {person.id: camera_allowed_for_person(person, agreed_at) for person in persons}
    drawn: list[tuple[Check, float]] = []
    for night in (first + timedelta(days=n) for n in range((last - first).days + 1)):
        for person in persons:
            agreed = {a.time: a for a in person.agreement.times.all()}
            refusal = refusals[person.id]
            for at in NIGHT_TIMES:
                scheduled = scheduled_instant(night, at)
                window = timedelta(minutes=person.tenant.check_window_min)
                if scheduled + window > agreed_at:
                    continue
                check = Check(
                    tenant=person.tenant,
                    person=person,
                    agreed_time=agreed[at],
                    night=night,
                    scheduled_at=scheduled,
                    due_at=scheduled,
                    window_ends_at=scheduled + window,
                    form=CheckForm.CAMERA if refusal is None else CheckForm.PHYSICAL,
                    form_note=refusal or "",
                )
                drawn.append((check, rng.random()))
    attempts: list[tuple[Check, Attempt]] = []
    escalations: list[Escalation] = []
    for check, r in drawn:
        attempts.extend((check, attempt) for attempt in _end(check, r, staff, rng, escalations))
    checks = [check for check, _r in drawn]
    Check.objects.bulk_create(checks, batch_size=500)
    for check, attempt in attempts:
        attempt.night_check = check
    Attempt.objects.bulk_create([attempt for _check, attempt in attempts], batch_size=500)
    ViewGrant.objects.bulk_create(
        [_grant(check, attempt, rng) for check, attempt in attempts if attempt.outcome != Outcome.TECHNICAL_FAULT],
        batch_size=500,
    )
    Escalation.objects.bulk_create(escalations, batch_size=500)
    return len(checks)


def _end(check: Check, r: float, staff: Staff, rng: random.Random, escalations: list[Escalation]) -> list[Attempt]:
    """Give ``check`` the end that ``r`` draws; return its attempts and add its escalation."""
    # The alarm centre takes the neighbour's checks; the demo's own operator the demo's.
    operator = staff.operator if check.tenant.slug == "demo" else staff.alarm_centre
    at = check.scheduled_at

    def attempt(opened: datetime, outcome: str) -> Attempt:
        return Attempt(operator=operator, opened_at=opened, outcome=outcome, outcome_at=opened + timedelta(seconds=40))

    def escalate(cause: str, created: datetime, result: str) -> None:
        escalations.append(
            Escalation(
                tenant=check.tenant,
                person=check.person,
                night_check=check,
                cause=cause,
                plan=list(ESCALATION_PLAN),
                state=EscalationState.RESOLVED,
                created_at=created,
                acknowledged_at=created + timedelta(minutes=3),
                acknowledged_by=staff.patrol,
                result=result,
                resolved_at=created + timedelta(minutes=25),
                resolved_by=staff.patrol,
            )
        )

    def end(state: str, reason: str, ended: datetime) -> None:
        check.state, check.end_reason, check.ended_at = state, reason, ended

    if check.form == CheckForm.PHYSICAL:
        escalate(EscalationCause.PLANNED_VISIT, at, EscalationResult.VISITED_OK)
        end(CheckState.DONE, f"visit:{EscalationResult.VISITED_OK}", at + timedelta(minutes=25))
        return []
    opened = at + timedelta(minutes=rng.uniform(0, 4) if r < 0.8 else rng.uniform(6, 14))
    if r < 0.85:
        end(CheckState.DONE, Outcome.SEEN_OK, opened + timedelta(seconds=40))
        return [attempt(opened, Outcome.SEEN_OK)]
    retry = opened + timedelta(minutes=15)
    if r < 0.91:
        check.not_visible_count = 1
        end(CheckState.DONE, Outcome.SEEN_OK, retry + timedelta(seconds=40))
        return [attempt(opened, Outcome.NOT_VISIBLE), attempt(retry, Outcome.SEEN_OK)]
    if r < 0.93:
        check.not_visible_count = 2
        ended = retry + timedelta(seconds=40)
        end(CheckState.ESCALATED, EscalationCause.NOT_VISIBLE, ended)
        escalate(EscalationCause.NOT_VISIBLE, ended, EscalationResult.VISITED_OK)
        return [attempt(opened, Outcome.NOT_VISIBLE), attempt(retry, Outcome.NOT_VISIBLE)]
    if r < 0.95:
        end(CheckState.ESCALATED, EscalationCause.NEEDS_HELP, opened + timedelta(seconds=40))
        escalate(EscalationCause.NEEDS_HELP, opened, EscalationResult.VISITED_NEEDED_HELP)
        return [attempt(opened, Outcome.NEEDS_HELP)]
    if r < 0.97:
        end(CheckState.ESCALATED, EscalationCause.TECHNICAL_FAULT, opened + timedelta(seconds=40))
        escalate(EscalationCause.TECHNICAL_FAULT, opened, EscalationResult.VISITED_OK)
        return [attempt(opened, Outcome.TECHNICAL_FAULT)]
    if r < 0.985:
        window_end = check.window_ends_at
        assert window_end is not None
        end(CheckState.ESCALATED, EscalationCause.MISSED, window_end)
        escalate(EscalationCause.MISSED, window_end, EscalationResult.VISITED_OK)
        return []
    # The worker's probe found the camera dark before the check (actions.record_camera_probe).
    check.camera_fault = "stream_offline"
    end(CheckState.ESCALATED, EscalationCause.TECHNICAL_FAULT, at - timedelta(minutes=10))
    escalate(EscalationCause.TECHNICAL_FAULT, at - timedelta(minutes=10), EscalationResult.CALLED_OK)
    return []


def _grant(check: Check, attempt: Attempt, rng: random.Random) -> ViewGrant:
    """The view grant of one attempt, as the gateway leaves it after a 20–30 s view."""
    camera: Camera = check.person.camera
    shown = attempt.opened_at + timedelta(seconds=3)
    return ViewGrant(
        gid=uuid.UUID(int=rng.getrandbits(128)),
        tenant=check.tenant,
        camera=camera,
        person=check.person,
        attempt=attempt,
        operator=attempt.operator,
        purpose=GrantPurpose.CHECK,
        issued_at=attempt.opened_at,
        start_by=attempt.opened_at + timedelta(minutes=2),
        hard_end=attempt.opened_at + timedelta(minutes=3),
        max_view_s=check.tenant.view_seconds,
        redeemed_at=attempt.opened_at + timedelta(seconds=2),
        first_frame_at=shown,
        ended_at=shown + timedelta(seconds=rng.uniform(20, 30)),
        end_reason="max_view",
        bytes_sent=250_000,
        camera_returned_to_privacy=True,
    )


def start_tonight(fake: FakeClock, staff: Staff, *, start: datetime) -> None:
    """Drive the last ``SETUP_LEAD`` before ``start`` through the worker and the actions,
    so the demo opens on a night under way: an open escalation, an acknowledged fault,
    a retry due, an overdue check and a dark camera, each with its alarm."""
    worker = NightWorker("seed-demo")
    persons = {person.name: person for person in Person.objects.filter(tenant__slug="demo")}

    def at(before: timedelta, *, tick: bool = True) -> None:
        fake.set(start - before)
        if tick:
            worker.tick(fake())

    def due_check(name: str) -> Check:
        # The one that just fell due: started late at night, the 23:00 check may be due too.
        return Check.objects.filter(person=persons[name], state=CheckState.DUE).latest("scheduled_at")

    def open_and_record(name: str, outcome: str) -> Attempt:
        attempt, _token = actions.open_check(due_check(name), actor=staff.operator)
        show_picture(attempt)
        actions.record_outcome(attempt, actor=staff.operator, outcome=outcome)
        return attempt

    at(SETUP_LEAD - timedelta(minutes=5))  # plans tonight and tomorrow night
    at(IN_FLIGHT["David Dahl"])
    fake.advance(minutes=1)
    open_and_record("David Dahl", Outcome.NEEDS_HELP)
    at(IN_FLIGHT["Folke Fors"])
    fake.advance(minutes=1)
    open_and_record("Folke Fors", Outcome.TECHNICAL_FAULT)
    at(IN_FLIGHT["Cecilia Carlsson"])
    fake.advance(minutes=1)
    open_and_record("Cecilia Carlsson", Outcome.NOT_VISIBLE)
    at(IN_FLIGHT["Bertil Berg"])
    fault = Escalation.objects.get(person=persons["Folke Fors"], state=EscalationState.OPEN)
    actions.acknowledge_escalation(fault, actor=staff.patrol)
    # Greta's camera is offline: two failed probes in a row are a fault, which hands her
    # next camera check to the patrol at once and alarms the shift lead.
    at(timedelta(minutes=2), tick=False)
    camera = persons["Greta Gran"].camera
    for _probe in range(2):
        actions.record_camera_probe(camera, ok=False, problem="stream_offline", now=fake(), horizon=PROBE_HORIZON)
    at(timedelta(0))  # David's escalation unacknowledged and Bertil's check overdue: alarms
    # The real worker keeps its own heartbeat; the console must not take this one for it.
    WorkerHeartbeat.objects.filter(name=worker.name).delete()
    tally_recent_nights(start, since=history_nights(start)[0])
