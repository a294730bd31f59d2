"""Property: no instant where a camera can be opened, or a view run, outside the rules.

Hypothesis generates 10,000 stories of one camera check: its night (often one of the
daylight-saving nights of Europe/Stockholm), its agreed local time (often around
midnight or in the hour that is skipped or repeated), the municipality's check window
and view time, the agreed retry delay, a first attempt found "not visible" (so a retry
with a window of its own), the check ending early (done, cancelled, escalated), the
worker being late, the person's consents (withdrawn, trial periods), decisions and
camera. For every instant near a boundary, and some at random, it asks the system:

- the operator's click: ``cameras.policy.camera_check_openable``, with the check in the
  state the planner (``checks.nights.scheduled_instant``), the worker and
  ``record_outcome`` give it at that instant;
- the grant issued then: ``cameras.policy.camera_check_view_ends_by`` (what
  ``checks.actions.open_check`` passes as the hard end), ``cameras.actions.grant_limits``
  and the signed token (``cameras.actions.grant_token``, read back by the gateway's
  ``verify_grant``);
- the gateway's redeem at instants up to the grant's start-by: ``cameras.policy.start_refusal``;
- the view from its first frame: ``gateway.grants.Grant.view_end``.

An oracle written here from the rules as stated, not from the code, says what is
allowed:

1. a camera check may be opened from 5 minutes before its agreed local time until the
   municipality's check window after it has passed; after a "not visible" attempt, from
   the retry (the agreed delay after that outcome, never shortened) until the check
   window after the retry; never once the check has ended;
2. only with a consent given and not withdrawn at that instant, within its trial period
   if it has one (Swedish calendar days), a decision covering that Swedish day, and a
   camera whose installation test, at this person, was passed;
3. a view lasts at most the view time (never more than 60 s), and every instant of it
   obeys 1 and 2 for the attempt's window.

The oracle turns local times into instants with its own table of the EU summer-time
rule (last Sunday of March and of October, 01:00 UTC), not with zoneinfo. A violation is
any click, redeem or instant of a view the system allows and the oracle does not.
``test_the_model_is_the_system`` replays stories on the database through the real
worker and actions, so the in-memory states used here are the ones the system makes.
"""

from __future__ import annotations

import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cameras.actions import grant_limits, grant_token
from cameras.models import GrantPurpose
from cameras.policy import camera_check_openable, camera_check_view_ends_by, start_refusal
from checks.actions.operator_check import NOT_VISIBLE_BEFORE_ESCALATION
from checks.actions.planning_facts import CameraFacts, ConsentFacts, DecisionFacts, PersonFacts, Related
from checks.models import CheckForm, CheckState
from checks.nights import scheduled_instant
from gateway.grants import verify_grant

EXAMPLES = 10_000
MODEL_EXAMPLES = 200  # each on the database, through the worker and the actions
EARLY = timedelta(minutes=5)
MAX_VIEW_S = 60  # the hard limit, whatever a municipality sets
CLOSED_STATES = [s for s in CheckState.values if s not in ("planned", "due", "retry_wait", "in_progress")]

# -- the oracle's own calendar ------------------------------------------------------------


@cache
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


def local_instant(day: date, wall_time: time) -> datetime:
    """A Swedish wall-clock time as an instant: a time skipped in spring counts an hour
    later, a time repeated in autumn the first time."""
    wall = datetime.combine(day, wall_time, tzinfo=UTC)  # the wall clock, as if it were UTC
    candidates = [wall - timedelta(hours=h) for h in (2, 1) if offset(wall - timedelta(hours=h)) == timedelta(hours=h)]
    return candidates[0] if candidates else wall - timedelta(hours=1)


def agreed_instant(night: date, agreed: time) -> datetime:
    """Times from noon belong to the night's evening, times before noon to the next morning."""
    return local_instant(night if agreed >= time(12) else night + timedelta(days=1), agreed)


def day_starts(day: date) -> datetime:
    return local_instant(day, time(0))


# -- a story ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    night: date
    agreed: time
    form: str
    window_min: int  # the municipality's check window
    view_s: int  # the municipality's view time
    retry_delay_min: int  # the person's agreement
    consents: tuple[tuple[datetime, datetime | None, date | None], ...]  # given, withdrawn, trial's last day
    decisions: tuple[tuple[date, date | None], ...]
    camera: str  # "passed", "failed", "untested", "elsewhere" (passed at another person), "none"
    not_visible_at: datetime | None  # a first attempt ended "not visible"
    ended: tuple[str, datetime] | None  # the check ended early (state, when)
    worker_lag: timedelta  # how long after its time the worker makes a check (or retry) due

    # The oracle ---------------------------------------------------------------------------

    @cached_property
    def agreed_at(self) -> datetime:
        return agreed_instant(self.night, self.agreed)

    def window_at(self, moment: datetime) -> tuple[datetime, datetime]:
        """[opens, closes) of the attempt that can be made at ``moment``."""
        if self.not_visible_at is not None and moment >= self.not_visible_at:
            retry_at = self.not_visible_at + timedelta(minutes=self.retry_delay_min)
            return retry_at, retry_at + timedelta(minutes=self.window_min)
        return self.agreed_at - EARLY, self.agreed_at + timedelta(minutes=self.window_min)

    def permitted(self, moment: datetime) -> bool:
        """Rule 2: consent, decision and camera."""
        day = local_date(moment)
        consented = any(
            given <= moment and (withdrawn is None or moment < withdrawn) and (last is None or day <= last)
            for given, withdrawn, last in self.consents
        )
        decided = any(first <= day and (last is None or day <= last) for first, last in self.decisions)
        return consented and decided and self.camera == "passed"

    def may_open(self, moment: datetime) -> bool:
        """Rules 1 and 2, at the click and at the gateway's redeem."""
        if self.form != CheckForm.CAMERA or (self.ended is not None and moment >= self.ended[1]):
            return False
        opens, closes = self.window_at(moment)
        return opens <= moment < closes and self.permitted(moment)

    @cached_property
    def boundaries(self) -> list[datetime]:
        """Every instant at which an answer of the oracle can change."""
        agreed_at = self.agreed_at
        points = [agreed_at - EARLY, agreed_at, agreed_at + timedelta(minutes=self.window_min)]
        if self.not_visible_at is not None:
            points += [self.not_visible_at, *self.window_at(self.not_visible_at)]
        if self.ended is not None:
            points.append(self.ended[1])
        for start, withdrawn, last in self.consents:
            points += [start] + ([withdrawn] if withdrawn else []) + ([day_starts(last + timedelta(1))] if last else [])
        for first, last in self.decisions:
            points += [day_starts(first)] + ([day_starts(last + timedelta(1))] if last else [])
        return points

    # The system's side: the check as the planner, the worker and record_outcome leave it -----

    def person(self) -> PersonFacts:
        facts = PersonFacts(
            decisions=Related(DecisionFacts(first, last) for first, last in self.decisions),
            consents=Related(ConsentFacts(given, withdrawn, last) for given, withdrawn, last in self.consents),
        )
        if self.camera != "none":
            facts.camera = CameraFacts(installation_passed=self.camera == "passed")
        return facts

    def check_at(self, moment: datetime, person: PersonFacts) -> SimpleNamespace:
        scheduled_at = scheduled_instant(self.night, self.agreed)  # as checks.actions.plan_night
        check = SimpleNamespace(
            form=self.form,
            state=CheckState.DUE if moment >= scheduled_at + self.worker_lag else CheckState.PLANNED,
            scheduled_at=scheduled_at,
            window_ends_at=scheduled_at + timedelta(minutes=self.window_min),
            next_attempt_at=None,
            person=person,
        )
        if self.ended is not None and moment >= self.ended[1]:
            check.state = self.ended[0]
        elif self.not_visible_at is not None and moment >= self.not_visible_at:
            # As checks.actions.record_outcome schedules a retry (replayed on the database
            # in test_the_model_is_the_system).
            check.next_attempt_at = self.not_visible_at + timedelta(minutes=self.retry_delay_min)
            check.window_ends_at = check.next_attempt_at + timedelta(minutes=self.window_min)
            due = moment >= check.next_attempt_at + self.worker_lag
            check.state = CheckState.DUE if due else CheckState.RETRY_WAIT
        return check


# -- generating stories ---------------------------------------------------------------------------

DST_NIGHTS = [last_sunday(year, month) - timedelta(days=1) for year in (2026, 2027, 2028) for month in (3, 10)]
NIGHTS = (
    st.sampled_from(DST_NIGHTS)
    | st.sampled_from(DST_NIGHTS).map(lambda night: night + timedelta(days=1))
    | (st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 30)))
)
AGREED = (
    st.sampled_from([time(h, m) for h, m in [(23, 30), (23, 59), (0, 0), (0, 30), (1, 59), (2, 0), (2, 30), (3, 0)]])
    | st.builds(time, st.integers(22, 23), st.integers(0, 59))
    | st.builds(time, st.integers(0, 3), st.integers(0, 59))
    | st.builds(time, st.integers(0, 23), st.integers(0, 59))
)


@st.composite
def stories(draw: st.DrawFn) -> Story:
    night = draw(NIGHTS)
    agreed = draw(AGREED)
    window_min = draw(st.integers(0, 240))
    anchor = agreed_instant(night, agreed)
    seconds = st.integers(-30 * 3600, 30 * 3600)
    around = st.one_of(
        seconds.map(lambda s: anchor + timedelta(seconds=s)),
        st.integers(-600, 600).map(lambda s: anchor + timedelta(minutes=window_min, seconds=s)),
        st.integers(-5, 5).map(lambda s: day_starts(local_date(anchor)) + timedelta(seconds=s)),
    )
    days = st.integers(-2, 2).map(lambda d: local_date(anchor) + timedelta(days=d))
    long_before = anchor - timedelta(days=60)

    def lasting(strategy: st.SearchStrategy[Any]) -> tuple[Any, ...]:
        """Mostly a consent or decision from long before, which may end tonight: so most
        stories have views to try, and the ends that matter come at any instant."""
        return (draw(strategy),) if draw(st.integers(0, 3)) else ()

    not_visible = st.none() | st.integers(-300, max(window_min * 60 - 1, -300)).map(
        lambda s: anchor + timedelta(seconds=s)
    )
    return Story(
        night=night,
        agreed=agreed,
        form=draw(st.sampled_from([CheckForm.CAMERA] * 5 + [CheckForm.PHYSICAL])),
        window_min=window_min,
        view_s=draw(st.integers(0, 900)),
        retry_delay_min=draw(st.integers(0, 90)),
        consents=tuple(draw(st.lists(st.tuples(around, st.none() | around, st.none() | days), max_size=2)))
        + lasting(st.tuples(st.just(long_before), st.none() | around, st.none() | days)),
        decisions=tuple(draw(st.lists(st.tuples(days, st.none() | days), max_size=2)))
        + lasting(st.tuples(st.just(local_date(long_before)), st.none() | days)),
        camera=draw(st.sampled_from(["passed"] * 4 + ["failed", "untested", "elsewhere", "none"])),
        not_visible_at=draw(not_visible),
        ended=draw(st.none() | st.tuples(st.sampled_from(CLOSED_STATES), around)),
        worker_lag=timedelta(seconds=draw(st.sampled_from([0, 0, 1, 30, 90]))),
    )


def instants_to_try(story: Story, extra: list[int]) -> list[datetime]:
    """Every boundary, a second either side, and some instants at random."""
    moments = [p + timedelta(seconds=d) for p in story.boundaries for d in (-1, 0, 1)]
    return moments + [story.agreed_at + timedelta(seconds=s) for s in extra]


# -- the property ---------------------------------------------------------------------------------

COUNTS = {"examples": 0, "instants": 0, "views": 0, "violations": 0}


def issued_grant(check: SimpleNamespace, moment: datetime, view_s: int) -> SimpleNamespace:
    """The grant checks.actions.open_check has issue_grant store at ``moment``."""
    limits = grant_limits(moment, view_s, camera_check_view_ends_by(check, moment))  # type: ignore[arg-type]
    in_progress = SimpleNamespace(**{**vars(check), "state": CheckState.IN_PROGRESS})
    return SimpleNamespace(
        gid="00000000-0000-0000-0000-000000000001",
        tenant_id=1,
        operator_id=1,
        person_id=1,
        camera_id=1,
        purpose=GrantPurpose.CHECK,
        attempt=SimpleNamespace(outcome="", night_check=in_progress, night_check_id=1),
        issued_at=moment,
        start_by=limits.start_by,
        hard_end=limits.hard_end,
        max_view_s=limits.view_s,
        revoked_at=None,
        issued_ip=None,
        tenant=SimpleNamespace(camera_networks=""),
        gateway="*",
    )


def views_of(grant: SimpleNamespace, rng: random.Random) -> Iterator[tuple[datetime, datetime]]:
    """(first frame, end) of the views the gateway can run on this grant: redeemed when
    the control plane says yes, the first frame at once or later, cut at ``view_end``."""
    token = grant_token(grant)  # type: ignore[arg-type]
    signed = verify_grant(token, django_settings.GRANT_KEY.encode(), now=grant.issued_at.timestamp())
    last = datetime.fromtimestamp(signed.start_by, tz=UTC) - timedelta(milliseconds=1)
    span = max((last - grant.issued_at).total_seconds(), 0)
    for redeemed in {grant.issued_at, last, grant.issued_at + timedelta(seconds=rng.uniform(0, span))}:
        if (
            redeemed < grant.issued_at
            or start_refusal(grant, redeemed, viewer_ip=None, address_reported=False)[0] is not None
        ):  # type: ignore[arg-type]
            continue
        cut = datetime.fromtimestamp(signed.hard_end, tz=UTC)
        for first_frame in {redeemed, redeemed + (cut - redeemed) * rng.random()}:
            yield first_frame, datetime.fromtimestamp(signed.view_end(first_frame.timestamp()), tz=UTC)


def violations_at(story: Story, moment: datetime, rng: random.Random | None = None) -> list[str]:
    rng = rng or random.Random(0)
    person = story.person()
    check = story.check_at(moment, person)
    if camera_check_openable(check, moment) is not None:  # type: ignore[arg-type]
        return []
    if not story.may_open(moment):
        return [f"opened at {moment.isoformat()} ({check.state})"]
    found = []
    closes = story.window_at(moment)[1]
    for first_frame, view_end in views_of(issued_grant(check, moment, story.view_s), rng):
        COUNTS["views"] += 1
        if (view_end - first_frame).total_seconds() > min(story.view_s, MAX_VIEW_S):
            found.append(f"a view from {first_frame.isoformat()} is longer than the view time")
        if view_end <= first_frame:
            continue
        inside = [first_frame] + [b for b in story.boundaries if first_frame < b < view_end]
        for instant in inside:
            if instant >= closes or not story.permitted(instant):
                found.append(f"a view opened at {moment.isoformat()} still runs at {instant.isoformat()}")
                break
    return found


@pytest.mark.skipif(os.environ.get("DB") == "postgres", reason="no database involved: run once, with SQLite")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story=stories(), extra=st.lists(st.integers(-8 * 3600, 8 * 3600), max_size=6), seed=st.integers(0, 2**16))
def test_no_instant_grants_a_view_outside_the_rules(
    story: Story, extra: list[int], seed: int, headline: Callable[[str, object], None]
) -> None:
    rng = random.Random(seed)
    COUNTS["examples"] += 1
    found = []
    for moment in instants_to_try(story, extra):
        COUNTS["instants"] += 1
        found += violations_at(story, moment, rng)
    COUNTS["violations"] += len(found)
    for name in ("examples", "instants", "views", "violations"):
        headline(f"security.window_{name}", COUNTS[name])
    assert found == [], (story, found)


# -- the oracle and the property themselves -------------------------------------------------------


def test_the_oracle_knows_the_daylight_saving_nights() -> None:
    assert last_sunday(2026, 3) == date(2026, 3, 29) and last_sunday(2026, 10) == date(2026, 10, 25)
    # Spring 2026: 02:30 does not exist and counts as 03:30 CEST (01:30 UTC).
    assert agreed_instant(date(2026, 3, 28), time(2, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Autumn 2026: 02:30 happens twice; the first is 02:30 CEST (00:30 UTC).
    assert agreed_instant(date(2026, 10, 24), time(2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert agreed_instant(date(2026, 11, 23), time(23, 0)) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert day_starts(date(2026, 3, 29)) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert day_starts(date(2026, 3, 30)) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    # The system's planning agrees on each of those nights.
    for night, agreed in [(date(2026, 3, 28), time(2, 30)), (date(2026, 10, 24), time(2, 30))]:
        assert scheduled_instant(night, agreed) == agreed_instant(night, agreed)


def ordinary(**changes: Any) -> Story:
    """Agreed 23:50 on a winter night, a 60-minute window, everything in order."""
    story = Story(
        night=date(2026, 11, 23), agreed=time(23, 50), form=CheckForm.CAMERA, window_min=60, view_s=30,
        retry_delay_min=15, consents=((datetime(2026, 1, 1, tzinfo=UTC), None, None),),
        decisions=((date(2026, 1, 1), None),), camera="passed", not_visible_at=None, ended=None,
        worker_lag=timedelta(0),
    )  # fmt: skip
    return replace(story, **changes)


def local(hour: int, minute: int, second: int = 0, day: int = 23) -> datetime:
    return local_instant(date(2026, 11, day), time(hour, minute, second))


def test_it_finds_a_rule_broken_on_purpose(monkeypatch: pytest.MonkeyPatch) -> None:
    """The property can fail: with the window left out of the rules it finds instants."""
    import cameras.policy as rules

    late = local(0, 55, day=24)  # the window closed at 00:50
    assert violations_at(ordinary(), late) == []
    original = rules.camera_check_openable

    def without_window(check: Any, moment: datetime) -> str | None:
        return original(SimpleNamespace(**{**vars(check), "window_ends_at": None}), moment)  # type: ignore[arg-type]

    monkeypatch.setattr(sys.modules[__name__], "camera_check_openable", without_window)
    assert violations_at(ordinary(), late) != []


def test_a_view_ends_when_a_trial_consent_does_at_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a view opened just before midnight ran into the next day although the
    trial period (or the decision) ended with the old one; nothing revokes it then.
    The grant's hard end was only the check's window."""
    trial = ordinary(consents=((datetime(2026, 1, 1, tzinfo=UTC), None, date(2026, 11, 23)),))
    ended = ordinary(decisions=((date(2026, 1, 1), date(2026, 11, 23)),))
    click = local(23, 59, 50)
    for story in (trial, ended):
        check = story.check_at(click, story.person())
        assert camera_check_view_ends_by(check, click) == local(0, 0, day=24)  # type: ignore[arg-type]
        assert violations_at(story, click) == []
    monkeypatch.setattr(sys.modules[__name__], "camera_check_view_ends_by", lambda check, moment: check.window_ends_at)
    assert violations_at(trial, click) != [] and violations_at(ended, click) != []


def test_a_retry_has_its_own_window() -> None:
    story = ordinary(not_visible_at=local(23, 55), retry_delay_min=15)  # retry at 00:10, window to 01:10
    assert violations_at(story, local(0, 9, day=24)) == []  # not yet: refused, as it must be
    assert not story.may_open(local(0, 9, 59, day=24))  # the agreed delay is not shortened
    assert story.may_open(local(0, 10, day=24)) and story.may_open(local(1, 9, 59, day=24))
    assert not story.may_open(local(1, 10, day=24))
    assert violations_at(story, local(1, 9, 59, day=24)) == []


# -- the in-memory model is the system's -----------------------------------------------------------


@pytest.mark.django_db
@settings(max_examples=MODEL_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story=stories(), pick=st.integers(0, 10**6))
def test_the_model_is_the_system(
    story: Story, pick: int, home: Any, fake_clock: Any, headline: Callable[[str, object], None]
) -> None:
    """Replays a story on the database: the real planning (NightWorker), make-due and
    retry-due, ``open_check`` and ``record_outcome``, and ``redeem_grant``. At an
    instant of the story the click must get the same answer as the model's check, and
    an issued grant the same hard end and view time."""
    from django.db import transaction

    with transaction.atomic():
        MODEL_COUNTS[replay(story, pick, home, fake_clock)] += 1
        transaction.set_rollback(True)
    headline("security.window_model_replays", sum(MODEL_COUNTS.values()))
    headline("security.window_model_outcomes", dict(MODEL_COUNTS))


MODEL_COUNTS: Counter[str] = Counter()


def replay(story: Story, pick: int, home: Any, fake_clock: Any) -> str:
    """Returns how far the story got: what was compared."""
    from accounts.models import Role, Tenant
    from cameras.actions import record_installation_test, save_camera
    from cameras.models import ViewGrant
    from checks import actions
    from checks.engine import NightWorker
    from checks.models import AgreedTime, Agreement, Check, CheckForm, Outcome
    from nattillsyn.errors import ActionRefused
    from nattillsyn.testing import TEST_PERSONNUMMER, show_picture
    from people.actions import save_person
    from people.models import Consent, Decision

    if story.not_visible_at is not None and NOT_VISIBLE_BEFORE_ESCALATION < 2:
        return "skipped"
    Tenant.objects.filter(id=home.tenant.id).update(check_window_min=story.window_min, view_seconds=story.view_s)
    home.tenant.refresh_from_db()
    planner, operator = home.user(Role.PLANNER), home.user(Role.OPERATOR)
    scheduled_at = scheduled_instant(story.night, story.agreed)
    fake_clock.set(scheduled_at - timedelta(hours=11))  # before the night: the worker plans it
    person = save_person(
        None, actor=planner, tenant=home.tenant, name="Modell", personnummer=TEST_PERSONNUMMER[0],
        address="Vägen 1", phone="", entry_notes="", relative_name="", relative_phone="",
    )  # fmt: skip
    for first, last in story.decisions:
        Decision.objects.create(person=person, decided_on=first, valid_from=first, valid_to=last, decided_by=planner)
    for given_at, withdrawn_at, last in story.consents:
        Consent.objects.create(
            person=person, given_by="Modell", method="written", given_at=given_at, withdrawn_at=withdrawn_at,
            valid_until=last, documented_by=planner,
        )  # fmt: skip
    if story.camera != "none":
        installer = home.user(Role.INSTALLER)
        camera = save_camera(
            None, actor=installer, tenant=home.tenant, name="cam", model="Sim", driver="simulated",
            stream_url="rtsp://127.0.0.1:8554/cam1", person=person,
        )  # fmt: skip
        if story.camera == "elsewhere":  # tested, and passed, at another person; then moved here
            other = save_person(
                None, actor=planner, tenant=home.tenant, name="Annan", personnummer=TEST_PERSONNUMMER[1],
                address="", phone="", entry_notes="", relative_name="", relative_phone="",
            )  # fmt: skip
            save_camera(camera, actor=installer, tenant=home.tenant, person=other)
            record_installation_test(camera, actor=installer, operator=operator, passed=True)
            save_camera(camera, actor=installer, tenant=home.tenant, person=person)
        elif story.camera != "untested":
            record_installation_test(camera, actor=installer, operator=operator, passed=story.camera == "passed")
    # Rows, not save_agreement: that asks for a decision valid today, and the story's may not be.
    agreement = Agreement.objects.create(person=person, retry_delay_min=story.retry_delay_min, updated_at=fake_clock())
    AgreedTime.objects.create(agreement=agreement, time=story.agreed, form=story.form, created_at=fake_clock())
    worker = NightWorker("model")
    worker.tick(fake_clock())
    check = Check.objects.filter(person=person, scheduled_at=scheduled_at).first()
    if check is None:  # no decision covers the check's day: nothing is planned, nothing can be opened
        day = local_date(story.agreed_at)
        assert not any(first <= day and (last is None or day <= last) for first, last in story.decisions)
        return "not_planned"
    assert check.window_ends_at == scheduled_at + timedelta(minutes=story.window_min)
    # The first attempt that ended "not visible", when the rules let it be opened.
    moments = sorted(m for m in instants_to_try(story, []) if m > fake_clock())
    if story.not_visible_at is not None and (story.ended is None or story.not_visible_at < story.ended[1]):
        fake_clock.set(story.not_visible_at - timedelta(seconds=1))
        worker.tick(fake_clock())
        check.refresh_from_db()
        try:
            attempt, _token = actions.open_check(check, actor=operator)
        except ActionRefused:
            story = replace(story, not_visible_at=None)
        else:
            fake_clock.set(story.not_visible_at)
            show_picture(attempt)
            actions.record_outcome(attempt, actor=operator, outcome=Outcome.NOT_VISIBLE)
            check.refresh_from_db()
            assert check.state == CheckState.RETRY_WAIT
            model = story.check_at(story.not_visible_at, story.person())
            assert (check.next_attempt_at, check.window_ends_at) == (model.next_attempt_at, model.window_ends_at)
            moments = [m for m in moments if m > story.not_visible_at]
    else:
        story = replace(story, not_visible_at=None)
    if story.ended is not None or not moments:
        return "ended_early"  # an early end is made by many actions; the model's states are asserted above
    # Half the time an instant the oracle allows, so that grants are compared too.
    choices = [m for m in moments if story.may_open(m)] if pick % 2 else []
    choices = choices or moments
    moment = choices[pick // 2 % len(choices)]
    fake_clock.set(moment - story.worker_lag)
    worker.tick(fake_clock())
    fake_clock.set(moment)
    check = Check.objects.select_related("person", "tenant").get(pk=check.pk)
    if check.state not in (CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT):
        return "closed_by_worker"  # the worker escalated it as missed: refused, as the model's window says
    model = story.check_at(moment, story.person())
    assert (check.state, check.form == CheckForm.CAMERA) == (model.state, model.form == CheckForm.CAMERA) or (
        check.form != CheckForm.CAMERA  # planning forecast a visit: the rules refuse it too
    )
    expected = camera_check_openable(model, moment)  # type: ignore[arg-type]
    try:
        actions.open_check(check, actor=operator)
    except ActionRefused:
        assert expected is not None or check.form != story.form
        return "refused"
    assert expected is None and story.may_open(moment)
    grant = ViewGrant.objects.get(attempt__night_check=check, attempt__outcome="")
    model_grant = issued_grant(model, moment, story.view_s)
    assert (grant.hard_end, grant.start_by, grant.max_view_s) == (
        model_grant.hard_end,
        model_grant.start_by,
        model_grant.max_view_s,
    )
    return "granted"
