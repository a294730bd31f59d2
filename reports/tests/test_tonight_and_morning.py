"""The shift lead's board of tonight and the morning report of last night."""

from __future__ import annotations

import csv
import io
from datetime import time

import pytest
from django.test import Client

from accounts.models import Role
from checks import actions
from checks.engine import NightWorker
from checks.models import Check, Outcome
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person, show_picture
from reports.tests.night import NIGHT, drive_sample_night, report_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(home: Municipality) -> Client:
    return report_client(home.user(Role.SHIFT_LEAD))


def test_the_board_counts_tonight_as_it_goes(home: Municipality, fake_clock: FakeClock, lead: Client) -> None:
    operator = home.user(Role.OPERATOR)
    seen = make_person(home, "Sedd Svensson", personnummer=TEST_PERSONNUMMER[0], times=[time(22, 0)])
    retried = make_person(home, "Åter Åberg", personnummer=TEST_PERSONNUMMER[1], times=[time(22, 0)])
    late = make_person(home, "Sen Sandberg", personnummer=TEST_PERSONNUMMER[2], times=[time(22, 0)])
    helped = make_person(home, "Hjälp Holm", personnummer=TEST_PERSONNUMMER[3], times=[time(22, 0), time(3, 0)])
    worker = NightWorker("t")
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 0))
    worker.tick(fake_clock())
    for person, outcome in [(seen, Outcome.SEEN_OK), (retried, Outcome.NOT_VISIBLE), (helped, Outcome.NEEDS_HELP)]:
        check = Check.objects.get(person=person, scheduled_at=at_stockholm(2026, 11, 23, 22, 0))
        attempt, _token = actions.open_check(check, actor=operator)
        show_picture(attempt)
        actions.record_outcome(attempt, actor=operator, outcome=outcome)
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 12))
    worker.tick(fake_clock())  # the late one has waited 12 minutes: overdue

    response = lead.get("/reports/tonight/")
    assert response.status_code == 200
    counts = response.context["night"].counts
    assert counts["done"] == 1
    assert counts["due"] == 2  # the late one and the retry waiting
    assert counts["overdue"] == 1
    assert counts["retried"] == 1
    assert counts["escalated"] == 1
    assert counts["open_escalations"] == 1
    assert counts["waiting"] == 1  # Hjälp Holm at 03:00
    page = response.content.decode()
    assert 'data-testid="count-overdue">1<' in page
    assert "Sen Sandberg" in page and "Hjälp Holm" in page  # overdue list, open escalations
    assert 'data-testid="chart-hours"' in page
    # htmx refreshes only the body
    partial = lead.get(f"/reports/tonight/?tenant={home.tenant.id}", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'data-testid="count-done">1<' in partial
    assert late


def test_the_morning_report_shows_every_check_escalation_fault_and_follow_up(
    home: Municipality, fake_clock: FakeClock, lead: Client
) -> None:
    night = drive_sample_night(home, fake_clock)
    response = lead.get("/reports/morning/")  # 07:00: last night by default
    assert response.status_code == 200
    report = response.context["report"]
    assert report.night == NIGHT
    assert len(report.checks) == 7
    assert [(e.person.name, e.cause, e.result) for e in report.escalations] == [
        ("Cilla Berg", "planned_visit", "visited_ok"),
        ("Dan Ström", "technical_fault", ""),
        ("Cilla Berg", "planned_visit", "visited_ok"),
        ("Anna Ek", "needs_help", "visited_needed_help"),
        ("Bo Lind", "missed", ""),
    ]
    assert [e.person for e in report.faults] == [night.dan]
    follow_ups = {(a.kind, a.person.name) for a in report.actions}
    # Cilla's agreed camera times are visits because she has no camera: the agreement needs a look.
    assert follow_ups == {
        ("camera", "Dan Ström"),
        ("agreement", "Anna Ek"),
        ("agreement", "Cilla Berg"),
        ("escalation", "Dan Ström"),
        ("escalation", "Bo Lind"),
    }
    assert (report.totals.done_camera_on_time, report.totals.done_camera_late) == (1, 1)

    rows = list(
        csv.DictReader(io.StringIO(lead.get("/reports/morning/?format=csv&table=checks").content.decode("utf-8-sig")))
    )
    bo = [row for row in rows if row["Person"] == "Bo Lind"]
    assert [(row["End state"], row["Attempts"], row["Outcomes"], row["First opened on time"]) for row in bo] == [
        ("Done", "2", "Not visible, Seen, OK", "no"),
        ("Escalated", "0", "", ""),
    ]
    actions_csv = lead.get("/reports/morning/?format=csv&table=actions").content.decode("utf-8-sig")
    assert "Camera to repair,Dan Ström" in actions_csv


def test_a_camera_that_fails_its_probe_is_to_be_repaired(
    home: Municipality, fake_clock: FakeClock, lead: Client
) -> None:
    from cameras.health import ProbeResult

    person = make_person(home, "Trasig Trädgård", personnummer=TEST_PERSONNUMMER[4], times=[time(23, 0)])
    worker = NightWorker("t", camera_prober=lambda camera: ProbeResult(ok=False, problem="rtsp timeout"))
    for minute in (31, 42, 53):  # probed every ten minutes once a check is near; failures in a row make a fault
        fake_clock.set(at_stockholm(2026, 11, 23, 22, minute))
        worker.tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 24, 7, 0))
    report = lead.get("/reports/morning/").context["report"]
    assert [(a.kind, a.person, "rtsp timeout" in a.reason) for a in report.actions if a.kind == "camera"] == [
        ("camera", person, True)
    ]
    assert report.faults[0].night_check.camera_fault == "rtsp timeout"


def test_bad_nights_are_form_errors(home: Municipality, fake_clock: FakeClock, lead: Client) -> None:
    fake_clock.set(at_stockholm(2026, 11, 24, 7, 0))
    for night, message in [
        ("2026-02-30", "Enter a date as YYYY-MM-DD."),
        ("yesterday", "Enter a date"),
        ("2030-01-01", "Choose a night between"),
        ("1999-12-31", "Choose a night between"),
    ]:
        response = lead.get(f"/reports/morning/?night={night}")
        assert response.status_code == 400
        assert message in response.content.decode()
    assert lead.get("/reports/morning/?night=2026-11-23&format=csv&table=checks&tenant=x").status_code == 400
