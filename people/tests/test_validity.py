"""One validity API (people/validity.py): the instants a record stands and the ORM filters
the agreement, planning and the console ask of the database give the same answer, for
generated decisions and consents around both daylight-saving changes, and the planner's
facts answer as the models do."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from checks.actions.planning_facts import ConsentFacts, DecisionFacts
from nattillsyn.clock import STOCKHOLM, day_starts
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, make_person
from people.models import Consent, ConsentMethod, CoResident, CoResidentConsent, Decision, Person
from people.rules import ConsentFacts as CoResidentConsentFacts
from people.validity import (
    Span,
    boundaries_within,
    co_resident_consents_valid_at,
    consents_valid_at,
    decisions_not_ended_at,
    decisions_valid_at,
    held_until,
)

pytestmark = pytest.mark.django_db

# Days around the spring (29 March) and autumn (25 October) clock changes of 2026.
DAYS = st.sampled_from(
    [date(2026, 3, 27) + timedelta(days=n) for n in range(5)]
    + [date(2026, 10, 23) + timedelta(days=n) for n in range(5)]
)


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """An instant near one of those days, in Swedish time or in UTC (the rule must not care)."""
    moment = day_starts(draw(DAYS)) + timedelta(minutes=draw(st.integers(-180, 27 * 60)))
    return moment.astimezone(draw(st.sampled_from([STOCKHOLM, UTC])))


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return st.none() | strategy


@pytest.fixture
def person(home: Municipality) -> Person:
    return make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], consent=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(valid_from=DAYS, valid_to=optional(DAYS), moment=instants())
def test_a_decision_stands_in_the_database_when_it_does_in_time(
    person: Person, home: Municipality, valid_from: date, valid_to: date | None, moment: datetime
) -> None:
    Decision.objects.filter(person=person).delete()
    decision = Decision.objects.create(
        person=person,
        decided_on=valid_from,
        valid_from=valid_from,
        valid_to=valid_to,
        decided_by=home.user(Role.CASE_OFFICER),
    )
    in_database = Decision.objects.filter(decisions_valid_at(moment), pk=decision.pk).exists()
    assert decision.covers(moment) == in_database
    assert DecisionFacts(valid_from, valid_to).covers(moment) == in_database
    span = decision.valid_span()
    not_ended = Decision.objects.filter(decisions_not_ended_at(moment), pk=decision.pk).exists()
    # "Not ended": it stands now or at some later instant of a day not yet over.
    assert not_ended == (span.end is None or span.end > day_starts(moment.astimezone(STOCKHOLM).date()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    given_at=instants(),
    withdrawn_after=optional(st.integers(0, 3 * 24 * 60)),
    valid_until=optional(DAYS),
    moment=instants(),
)
def test_a_consent_stands_in_the_database_when_it_does_in_time(
    person: Person,
    home: Municipality,
    given_at: datetime,
    withdrawn_after: int | None,
    valid_until: date | None,
    moment: datetime,
) -> None:
    Consent.objects.filter(person=person).delete()
    withdrawn_at = None if withdrawn_after is None else given_at + timedelta(minutes=withdrawn_after)
    consent = Consent.objects.create(
        person=person,
        given_by="Astrid",
        method=ConsentMethod.ORAL,
        given_at=given_at,
        withdrawn_at=withdrawn_at,
        valid_until=valid_until,
        documented_by=home.user(Role.CASE_OFFICER),
    )
    in_database = Consent.objects.filter(consents_valid_at(moment), pk=consent.pk).exists()
    assert consent.is_valid_at(moment) == in_database
    assert ConsentFacts(given_at, withdrawn_at, valid_until).is_valid_at(moment) == in_database

    co_resident = CoResident.objects.get_or_create(
        person=person,
        name="Bertil",
        defaults={"personnummer": "", "created_at": given_at, "created_by": home.user(Role.PLANNER)},
    )[0]
    CoResidentConsent.objects.filter(co_resident=co_resident).delete()
    theirs = CoResidentConsent.objects.create(
        co_resident=co_resident,
        method=ConsentMethod.ORAL,
        given_at=given_at,
        withdrawn_at=withdrawn_at,
        documented_by=home.user(Role.PLANNER),
    )
    in_database = CoResidentConsent.objects.filter(co_resident_consents_valid_at(moment), pk=theirs.pk).exists()
    assert theirs.is_valid_at(moment) == in_database
    assert CoResidentConsentFacts(given_at, withdrawn_at).is_valid_at(moment) == in_database


def at(hour: int, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=STOCKHOLM)


def test_a_run_of_touching_spans_holds_until_its_last_end() -> None:
    spans = [Span(at(20), at(22)), Span(at(22), at(23)), Span(at(1, 24), None)]
    assert held_until(spans, at(21)) == at(23)
    assert held_until(spans, at(23)) == at(23)  # nothing holds then: the moment itself
    assert held_until(spans, at(2, 24)) is None  # no end registered


def test_a_night_is_steady_unless_a_span_begins_or_ends_inside_it() -> None:
    night = (at(12), at(12, 24))
    assert not boundaries_within([Span(at(12), at(12, 24))], *night)  # on the edges
    assert boundaries_within([Span(at(8), at(23))], *night)
