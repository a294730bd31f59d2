"""One person's history over a period: the basis for reviewing the decision and agreement."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts.models import Role
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person
from people.actions import register_absence
from people.models import AbsenceKind
from reports.tests.night import SampleNight, drive_sample_night, report_client

pytestmark = pytest.mark.django_db

PERIOD = "?date_from=2026-11-01&date_to=2026-11-30"


@pytest.fixture
def night(home: Municipality, fake_clock: FakeClock) -> SampleNight:
    return drive_sample_night(home, fake_clock)


def test_it_shows_a_persons_checks_escalations_and_skipped_nights(night: SampleNight, home: Municipality) -> None:
    register_absence(
        night.bo,
        actor=home.user(Role.PLANNER),
        kind=AbsenceKind.HOSPITAL,
        starts_at=at_stockholm(2026, 11, 24, 20),
        ends_at=at_stockholm(2026, 11, 25, 12),
    )
    response = report_client(home.user(Role.PLANNER)).get(f"/reports/persons/{night.bo.id}/{PERIOD}")
    assert response.status_code == 200
    history = response.context["history"]
    assert (history.totals.checks, history.totals.done_camera_on_time, history.totals.done_camera_late) == (2, 0, 1)
    assert (history.totals.retries, history.totals.escalated) == (1, 1)
    assert (history.not_visible, history.attempts_with_outcome, history.not_visible_rate) == (1, 2, Decimal("50.0"))
    assert [(e.cause, e.result) for e in history.escalations] == [("missed", "")]
    assert history.skipped == [(date(2026, 11, 24), "absence:hospital")]
    page = response.content.decode()
    assert "Bo Lind" in page and "Anna Ek" not in page
    assert 'data-testid="chart-nights"' in page

    rows = list(
        csv.reader(
            io.StringIO(
                report_client(home.user(Role.CASE_OFFICER))
                .get(f"/reports/persons/{night.bo.id}/{PERIOD}&format=csv&table=skipped")
                .content.decode("utf-8-sig")
            )
        )
    )
    assert rows == [["Night", "Reason"], ["2026-11-24", "Absence: Hospital stay"]]


def test_it_shows_what_escalations_found(night: SampleNight, home: Municipality) -> None:
    client = report_client(home.user(Role.CASE_OFFICER))
    history = client.get(f"/reports/persons/{night.anna.id}/{PERIOD}").context["history"]
    assert [(e.cause, e.result, e.result_note) for e in history.escalations] == [
        ("needs_help", "visited_needed_help", "Hade ramlat, hjälpt upp")
    ]
    assert (history.totals.done_camera_on_time, history.totals.done_camera_late) == (1, 0)
    history = client.get(f"/reports/persons/{night.dan.id}/{PERIOD}").context["history"]
    assert [e.cause for e in history.faults] == ["technical_fault"]


def test_the_person_is_picked_from_the_users_municipality(
    night: SampleNight, home: Municipality, outsider: Municipality
) -> None:
    planner = report_client(home.user(Role.PLANNER))
    page = planner.get("/reports/persons/").content.decode()
    assert "Anna Ek" in page
    response = planner.get(f"/reports/persons/?person={night.anna.id}&date_from=2026-11-01&date_to=2026-11-30")
    assert response.status_code == 302
    assert response["Location"] == f"/reports/persons/{night.anna.id}/{PERIOD}"
    unknown = planner.get("/reports/persons/?person=999999&date_from=2026-11-01&date_to=2026-11-30")
    assert unknown.status_code == 400 and "Unknown person" in unknown.content.decode()

    stranger = report_client(outsider.user(Role.PLANNER))
    response = stranger.get(f"/reports/persons/?person={night.anna.id}")
    assert response.status_code == 400
    assert "Unknown person" in response.content.decode() and "Anna Ek" not in response.content.decode()
    assert "Anna Ek" not in stranger.get("/reports/persons/").content.decode()


BAD_PERIODS = [
    ("?date_from=2026-13-01&date_to=2026-11-30", "date_from", "Enter a date as YYYY-MM-DD."),
    ("?date_from=2026-11-30&date_to=2026-11-01", "date_to", "The period must end after it starts."),
    ("?date_from=2024-01-01&date_to=2026-11-30", "date_to", "Choose at most 366 nights."),
    ("?date_from=1990-01-01&date_to=1990-02-01", "date_from", "Choose a night from 2000-01-01 on."),
    ("?date_from=&date_to=2026-11-30", "date_from", "This field is required."),
    ("?date_from=2026-11-01&date_to=2026-11-30&format=csv&table=nights", None, None),
]


def test_a_bad_period_is_a_form_error(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Anna Ek", personnummer=TEST_PERSONNUMMER[0])
    client = report_client(home.user(Role.PLANNER))
    for query, field, message in BAD_PERIODS[:-1]:
        for extra in ("", "&format=csv&table=nights"):
            response = client.get(f"/reports/persons/{person.id}/{query}{extra}")
            assert response.status_code == 400, query
            page = response.content.decode()
            assert f'data-testid="field-error-{field}"' in page and message in page, query
    assert client.get(f"/reports/persons/{person.id}/{BAD_PERIODS[-1][0]}").status_code == 200


def test_the_default_period_is_the_last_thirty_nights(night: SampleNight, home: Municipality) -> None:
    history = report_client(home.user(Role.PLANNER)).get(f"/reports/persons/{night.anna.id}/").context["history"]
    # At 07:00 on the 24th the night beginning the 23rd is over: it is the last one shown.
    assert (history.first, history.end - timedelta(days=1)) == (date(2026, 10, 25), date(2026, 11, 23))
    assert history.totals.checks == 2
