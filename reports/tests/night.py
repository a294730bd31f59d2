"""One night in Nattby, driven through the worker and the actions, with known figures.

Night beginning 2026-11-23 (Stockholm):

====  ======  =====  =========================================================  ============
who   unit    time   what happens                                               ends
====  ======  =====  =========================================================  ============
Anna  Norr    23:00  opened 23:02, seen OK (view 28 s)                          done, on time
Anna  Norr    02:00  opened 02:01, needs help → patrol: visited, needed help    escalated, on time
Bo    Söder   23:00  opened 23:10, not visible; retry 23:25 seen OK             done, late, retried
Bo    Söder   02:00  nobody opens it; window ends 03:00                         escalated (missed), late
Cilla Norr    23:00  physical visit → patrol: visited OK                        done (visit)
Cilla Norr    02:00  physical visit → patrol: visited OK                        done (visit)
Dan   Väst    23:00  opened 23:03, technical fault                              escalated (fault), on time
====  ======  =====  =========================================================  ============
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from accounts.models import Role
from cameras.actions import record_view_event
from checks import actions
from checks.engine import NightWorker
from checks.models import Attempt, Check, Escalation, EscalationResult, Outcome
from nattillsyn.clock import FakeClock
from nattillsyn.testing import (
    TEST_PERSONNUMMER,
    Municipality,
    SecondFactorClient,
    at_stockholm,
    make_person,
    show_picture,
)
from people.actions import save_person
from people.models import Person

NIGHT = at_stockholm(2026, 11, 23, 12).date()


@dataclass
class SampleNight:
    anna: Person
    bo: Person
    cilla: Person
    dan: Person


def _person(home: Municipality, name: str, unit: str, number: str, **kwargs: object) -> Person:
    person = make_person(home, name, personnummer=number, **kwargs)  # type: ignore[arg-type]
    return save_person(person, actor=home.user(Role.PLANNER), tenant=home.tenant, unit=unit)


def _check(person: Person, hour: int) -> Check:
    return next(
        check
        for check in Check.objects.filter(person=person, night=NIGHT)
        if check.scheduled_at.astimezone(at_stockholm(2026, 1, 1, 0).tzinfo).hour == hour
    )


def drive_sample_night(home: Municipality, fake_clock: FakeClock) -> SampleNight:
    worker = NightWorker("reports-test")
    operator, patrol = home.user(Role.OPERATOR), home.user(Role.PATROL)
    night = SampleNight(
        anna=_person(home, "Anna Ek", "Norr", TEST_PERSONNUMMER[0], times=[time(23, 0), time(2, 0)]),
        bo=_person(home, "Bo Lind", "Söder", TEST_PERSONNUMMER[1], times=[time(23, 0), time(2, 0)]),
        cilla=_person(
            home, "Cilla Berg", "Norr", TEST_PERSONNUMMER[2], times=[time(23, 0), time(2, 0)], with_camera=False
        ),
        dan=_person(home, "Dan Ström", "Väst", TEST_PERSONNUMMER[3], times=[time(23, 0)]),
    )

    def at(hour: int, minute: int = 0, *, tick: bool = False) -> None:
        """Move the clock; the worker runs only where it has something to do (fast tests)."""
        day = 23 if hour >= 12 else 24
        fake_clock.set(at_stockholm(2026, 11, day, hour, minute))
        if tick:
            worker.tick(fake_clock())

    def open_and_record(check: Check, outcome: str, view_s: float | None = None) -> Attempt:
        attempt, _token = actions.open_check(check, actor=operator)
        if view_s is not None:
            gid = str(attempt.grant.gid)
            record_view_event(gid, event="first_frame", at=fake_clock())
            record_view_event(gid, event="ended", at=fake_clock() + timedelta(seconds=view_s))
        show_picture(attempt)
        actions.record_outcome(attempt, actor=operator, outcome=outcome)
        return attempt

    at(23, 0, tick=True)  # planned and due; Cilla's visit goes to the patrol
    at(23, 2)
    open_and_record(_check(night.anna, 23), Outcome.SEEN_OK, view_s=28)
    at(23, 3)
    open_and_record(_check(night.dan, 23), Outcome.TECHNICAL_FAULT)
    at(23, 10)
    open_and_record(_check(night.bo, 23), Outcome.NOT_VISIBLE)
    at(23, 25, tick=True)  # the retry is due
    open_and_record(_check(night.bo, 23), Outcome.SEEN_OK)
    visit = Escalation.objects.get(night_check=_check(night.cilla, 23))
    actions.resolve_escalation(visit, actor=patrol, result=EscalationResult.VISITED_OK)
    at(2, 0, tick=True)
    at(2, 1)
    open_and_record(_check(night.anna, 2), Outcome.NEEDS_HELP)
    help_escalation = Escalation.objects.get(night_check=_check(night.anna, 2))
    actions.acknowledge_escalation(help_escalation, actor=patrol)
    actions.resolve_escalation(
        help_escalation, actor=patrol, result=EscalationResult.VISITED_NEEDED_HELP, note="Hade ramlat, hjälpt upp"
    )
    visit = Escalation.objects.get(night_check=_check(night.cilla, 2))
    actions.resolve_escalation(visit, actor=patrol, result=EscalationResult.VISITED_OK)
    at(3, 0, tick=True)  # Bo's 02:00 check was never opened: escalated as missed, left without result
    at(7, 0)
    return night


def report_client(user: object) -> SecondFactorClient:
    """A logged-in client that reads the pages in English (the msgids the tests name)."""
    client = SecondFactorClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client
