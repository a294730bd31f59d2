"""Property: no instant where a camera can be opened outside the rules.

Hypothesis generates schedules (an agreed local time, the tenant's check window, a
retry, consents given, withdrawn or for a trial period, decisions, the camera's
installation test, the check's state) on nights around midnight and around both
daylight-saving changes of Europe/Stockholm, and instants near every boundary. For each
instant it asks the system what the operator's click and the gateway's redeem would be
answered (``checks.rules``), and what the grant issued then would allow
(``cameras.actions.grant_limits``, ``gateway.grants.Grant.view_end``), and compares that
with an oracle written here from the rules as stated, not from the code:

- a camera check may be opened from 5 minutes before its agreed time (or before its
  retry's time) until the check window closes, the window counted from the agreed time;
- only with a consent given before and not withdrawn at that instant, within its trial
  period if it has one (Swedish calendar days), a decision on night supervision that
  covers the day, and a camera whose installation test was passed;
- a view lasts at most the maximum view time, never past the end of the window.

The oracle turns local times into instants with its own table of the EU summer-time
rule (last Sunday of March and of October, 01:00 UTC), not with zoneinfo.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cameras.actions import grant_limits
from checks.actions import _CameraFacts, _ConsentFacts, _DecisionFacts, _PersonFacts, _Related
from checks.models import CheckForm, CheckState
from checks.nights import scheduled_instant
from checks.rules import camera_check_openable, camera_view_startable
from gateway.grants import Grant

EXAMPLES = 10_000
EARLY = timedelta(minutes=5)
MAX_VIEW_S = 60

# -- the oracle's own calendar ------------------------------------------------------------


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def summer_time(instant: datetime) -> bool:
    begins = datetime.combine(last_sunday(instant.year, 3), time(1), tzinfo=UTC)
    ends = datetime.combine(last_sunday(instant.year, 10), time(1), tzinfo=UTC)
    return begins <= instant < ends


def offset(instant: datetime) -> timedelta:
    return timedelta(hours=2 if summer_time(instant) else 1)


def local_date(instant: datetime) -> date:
    return (instant + offset(instant)).date()


def agreed_instant(night: date, agreed: time) -> datetime:
    """The agreed local time as an instant: times from noon on the night's date, before
    noon the next day; a time skipped in spring counts an hour later, a time repeated in
    autumn the first time."""
    day = night if agreed >= time(12) else night + timedelta(days=1)
    wall = datetime.combine(day, agreed, tzinfo=UTC)  # the local wall clock, as if UTC
    candidates = [
        wall - timedelta(hours=hours)
        for hours in (2, 1)
        if offset(wall - timedelta(hours=hours)) == timedelta(hours=hours)
    ]
    return candidates[0] if candidates else wall - timedelta(hours=1)


@dataclass(frozen=True)
class Schedule:
    night: date
    agreed: time
    window_min: int
    state: str
    retry_after_min: int
    consents: tuple[tuple[datetime, datetime | None, date | None], ...]
    decisions: tuple[tuple[date, date | None], ...]
    camera: str  # "passed", "failed", "none"
    view_s: int

    def person(self) -> _PersonFacts:
        facts = _PersonFacts(
            decisions=_Related(_DecisionFacts(start, end) for start, end in self.decisions),
            consents=_Related(_ConsentFacts(given, withdrawn, until) for given, withdrawn, until in self.consents),
        )
        if self.camera != "none":
            facts.camera = _CameraFacts(installation_passed=self.camera == "passed")
        return facts

    def oracle_allows(self, moment: datetime, state: str) -> bool:
        agreed_at = agreed_instant(self.night, self.agreed)
        opens_from = agreed_at - EARLY
        if state == CheckState.RETRY_WAIT:
            opens_from = agreed_at + timedelta(minutes=self.retry_after_min) - EARLY
        if state not in (CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT, CheckState.IN_PROGRESS):
            return False
        if not opens_from <= moment < agreed_at + timedelta(minutes=self.window_min):
            return False
        day = local_date(moment)
        consented = any(
            given <= moment and (withdrawn is None or moment < withdrawn) and (until is None or day <= until)
            for given, withdrawn, until in self.consents
        )
        decided = any(start <= day and (end is None or day <= end) for start, end in self.decisions)
        return consented and decided and self.camera == "passed"

    def window_end(self) -> datetime:
        return agreed_instant(self.night, self.agreed) + timedelta(minutes=self.window_min)


# -- generating schedules -------------------------------------------------------------------

# Nights around the changes of 2026 and 2027 and ordinary nights; times around midnight
# and in the hours that do not exist or happen twice.
NIGHTS = st.sampled_from([date(2026, 3, 28), date(2026, 10, 24), date(2027, 3, 27), date(2027, 10, 30)]) | st.dates(
    min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)
)
AGREED = (
    st.sampled_from([time(23, 30), time(23, 59), time(0, 0), time(0, 30), time(2, 0), time(2, 30), time(2, 59)])
    | st.times(min_value=time(18), max_value=time(23, 59))
    | st.times(max_value=time(9))
)
STATES = st.sampled_from([s.value for s in CheckState])


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    night = draw(NIGHTS)
    agreed = draw(AGREED).replace(second=0, microsecond=0)
    anchor = agreed_instant(night, agreed)
    around = st.integers(min_value=-36 * 3600, max_value=36 * 3600).map(lambda s: anchor + timedelta(seconds=s))
    days = st.integers(min_value=-2, max_value=2).map(lambda d: local_date(anchor) + timedelta(days=d))
    consents = draw(st.lists(st.tuples(around, st.none() | around, st.none() | days), max_size=2))
    decisions = draw(st.lists(st.tuples(days, st.none() | days), max_size=2))
    return Schedule(
        night=night,
        agreed=agreed,
        window_min=draw(st.integers(min_value=10, max_value=180)),
        state=draw(STATES),
        retry_after_min=draw(st.integers(min_value=5, max_value=60)),
        consents=tuple(consents),
        decisions=tuple(decisions),
        camera=draw(st.sampled_from(["passed", "passed", "failed", "none"])),
        view_s=draw(st.integers(min_value=5, max_value=600)),
    )


def instants_to_try(schedule: Schedule, extra: list[int]) -> list[datetime]:
    """Every boundary of the schedule, a second either side, and some at random."""
    agreed_at = agreed_instant(schedule.night, schedule.agreed)
    points = [
        agreed_at - EARLY,
        agreed_at,
        schedule.window_end(),
        agreed_at + timedelta(minutes=schedule.retry_after_min) - EARLY,
    ]
    for given_at, withdrawn, until in schedule.consents:
        points += [given_at] + ([withdrawn] if withdrawn else [])
        if until is not None:
            points.append(datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC) - offset(agreed_at))
    for start, end in schedule.decisions:
        points += [datetime.combine(start, time(0), tzinfo=UTC) - offset(agreed_at)]
        if end is not None:
            points.append(datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC) - offset(agreed_at))
    moments = [p + timedelta(seconds=d) for p in points for d in (-1, 0, 1)]
    return moments + [agreed_at + timedelta(seconds=s) for s in extra]


# -- the property ---------------------------------------------------------------------------------


def system_check(schedule: Schedule, state: str) -> SimpleNamespace:
    """The check as the planner makes it (checks.actions.plan_night) and the engine moves it."""
    scheduled_at = scheduled_instant(schedule.night, schedule.agreed)
    return SimpleNamespace(
        form=CheckForm.CAMERA,
        state=state,
        scheduled_at=scheduled_at,
        window_ends_at=scheduled_at + timedelta(minutes=schedule.window_min),
        next_attempt_at=scheduled_at + timedelta(minutes=schedule.retry_after_min)
        if state == CheckState.RETRY_WAIT
        else None,
        person=schedule.person(),
    )


def state_at(schedule: Schedule, moment: datetime) -> str:
    """The generated state, as the worker can have it at ``moment``: a check becomes due
    (and then retried or opened) only at its agreed time (checks.engine: ``scheduled_at
    <= now``); before that it is planned, or already ended."""
    started = schedule.state in (CheckState.DUE, CheckState.RETRY_WAIT, CheckState.IN_PROGRESS)
    if started and moment < scheduled_instant(schedule.night, schedule.agreed):
        return CheckState.PLANNED
    return schedule.state


def violations_at(schedule: Schedule, moment: datetime) -> list[str]:
    found = []
    state = state_at(schedule, moment)
    check = system_check(schedule, state)
    clicked = camera_check_openable(check, moment) is None  # type: ignore[arg-type]
    # The click moves an openable check to in progress; the gateway then redeems.
    redeemed = clicked and camera_view_startable(system_check(schedule, CheckState.IN_PROGRESS), moment) is None  # type: ignore[arg-type]
    if clicked and not schedule.oracle_allows(moment, state):
        found.append(f"opened at {moment.isoformat()}")
    if redeemed:
        limits = grant_limits(moment, schedule.view_s, check.window_ends_at)
        grant = Grant(
            "g",
            "gw",
            1,
            1,
            1,
            1,
            1,
            "check",
            moment.timestamp(),
            limits.start_by.timestamp(),
            limits.hard_end.timestamp(),
            limits.view_s,
        )
        for first_frame in (moment, min(limits.start_by, limits.hard_end)):
            view_end = datetime.fromtimestamp(grant.view_end(first_frame.timestamp()), tz=UTC)
            if view_end > schedule.window_end():
                found.append(f"view from {first_frame.isoformat()} lasts past the window ({view_end.isoformat()})")
            if (view_end - first_frame).total_seconds() > min(schedule.view_s, MAX_VIEW_S):
                found.append(f"view from {first_frame.isoformat()} longer than allowed")
    return found


@pytest.mark.skipif(os.environ.get("DB") == "postgres", reason="no database involved: run once, with SQLite")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=schedules(), extra=st.lists(st.integers(min_value=-6 * 3600, max_value=6 * 3600), max_size=8))
def test_no_instant_grants_a_view_outside_the_rules(
    schedule: Schedule, extra: list[int], headline: Callable[[str, object], None]
) -> None:
    tally = COUNTS
    tally["examples"] += 1
    found = []
    for moment in instants_to_try(schedule, extra):
        tally["instants"] += 1
        found += violations_at(schedule, moment)
    tally["violations"] += len(found)
    headline("security.window_examples", tally["examples"])
    headline("security.window_instants", tally["instants"])
    headline("security.window_violations", tally["violations"])
    assert found == [], (schedule, found)


COUNTS = {"examples": 0, "instants": 0, "violations": 0}


def test_the_oracle_knows_the_daylight_saving_nights() -> None:
    # Spring 2026: 02:30 does not exist and counts as 03:30 CEST (01:30 UTC).
    assert agreed_instant(date(2026, 3, 28), time(2, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Autumn 2026: 02:30 happens twice; the first is 02:30 CEST (00:30 UTC).
    assert agreed_instant(date(2026, 10, 24), time(2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert agreed_instant(date(2026, 11, 23), time(23, 0)) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


def test_it_finds_a_rule_broken_on_purpose(monkeypatch: object) -> None:
    """The property can fail: with the window check left out of the rules it finds instants."""
    import checks.rules as rules

    schedule = Schedule(
        night=date(2026, 11, 23), agreed=time(23, 0), window_min=30, state=CheckState.DUE, retry_after_min=10,
        consents=((datetime(2026, 1, 1, tzinfo=UTC), None, None),), decisions=((date(2026, 1, 1), None),),
        camera="passed", view_s=30,
    )  # fmt: skip
    late = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 00:00 local, the window closed at 23:30
    assert violations_at(schedule, late) == []
    original = rules.camera_check_openable

    def without_window(check: object, moment: datetime) -> str | None:
        saved, check.window_ends_at = check.window_ends_at, None  # type: ignore[attr-defined]
        try:
            return original(check, moment)  # type: ignore[arg-type]
        finally:
            check.window_ends_at = saved  # type: ignore[attr-defined]

    monkeypatch.setattr(sys.modules[__name__], "camera_check_openable", without_window)  # type: ignore[attr-defined]
    assert violations_at(schedule, late) != []
