"""The management's monthly report: figures per unit, charts, CSV, PDF and query count."""

from __future__ import annotations

import csv
import io
import re
import zlib
from datetime import date, time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from nattillsyn.clock import FakeClock
from nattillsyn.testing import Municipality, at_stockholm, make_person, show_picture
from people.personnummer import luhn_valid
from reports import figures
from reports.tests.night import SampleNight, drive_sample_night, report_client

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)
URL = "/reports/monthly/?month=2026-11"


@pytest.fixture
def night(home: Municipality, fake_clock: FakeClock) -> SampleNight:
    return drive_sample_night(home, fake_clock)


@pytest.fixture
def admin_client(home: Municipality) -> Client:
    return report_client(home.user(Role.ADMINISTRATOR))


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_it_counts_the_night_per_unit(night: SampleNight, home: Municipality) -> None:
    report = figures.monthly_figures(home.tenant, NOVEMBER)
    by_unit = {unit.unit: unit for unit in report.units}
    assert list(by_unit) == ["Norr", "Söder", "Väst"]
    norr, soder, vast, total = by_unit["Norr"], by_unit["Söder"], by_unit["Väst"], report.total

    assert (norr.persons_camera, norr.persons_physical_only) == (1, 1)  # Anna on camera, Cilla visited
    assert (norr.checks, norr.done, norr.done_camera, norr.done_physical) == (4, 3, 1, 2)
    assert (norr.on_time, norr.camera_ended, norr.on_time_rate) == (2, 2, Decimal("100.0"))
    assert (norr.escalated, norr.visits_made, norr.visits_avoided) == (1, 3, 1)
    assert norr.average_view_s == Decimal("28.0")

    assert (soder.on_time, soder.camera_ended, soder.on_time_rate) == (0, 2, Decimal("0.0"))  # 23:10, never
    assert (soder.retries, soder.escalated, soder.visits_made) == (1, 1, 0)
    assert soder.average_view_s is None

    assert (vast.faults, vast.fault_nights, vast.escalated, vast.on_time) == (1, 1, 1, 1)

    assert (total.persons_camera, total.persons_physical_only) == (3, 1)
    assert (total.checks, total.done, total.on_time, total.camera_ended) == (7, 4, 3, 5)
    assert total.on_time_rate == Decimal("60.0")
    assert (total.retries, total.escalated, total.faults) == (1, 3, 1)
    assert (total.visits_made, total.visits_avoided) == (3, 2)


def test_it_counts_per_night_per_hour_and_by_cause(night: SampleNight, home: Municipality) -> None:
    report = figures.monthly_figures(home.tenant, NOVEMBER)
    assert len(report.nights) == 30
    the_night = next(n for n in report.nights if n.night == date(2026, 11, 23))
    assert (the_night.camera_ended, the_night.on_time, the_night.on_time_rate) == (5, 3, Decimal("60.0"))
    assert the_night.escalated == 3
    assert [(h.hour, h.checks, h.done, h.escalated) for h in report.hours] == [
        (23, 4, 3, 1),
        (0, 0, 0, 0),
        (1, 0, 0, 0),
        (2, 3, 1, 2),
    ]
    causes = {cause.cause: (cause.total, cause.results) for cause in report.causes}
    assert causes == {
        "planned_visit": (2, {"visited_ok": 2}),
        "needs_help": (1, {"visited_needed_help": 1}),
        "missed": (1, {"": 1}),
        "technical_fault": (1, {"": 1}),
    }


def test_a_month_is_the_nights_that_begin_in_it(home: Municipality, fake_clock: FakeClock) -> None:
    """The night beginning 30 November belongs to November though its checks are in December."""
    from checks import actions
    from checks.engine import NightWorker
    from checks.models import Check, Outcome

    person = make_person(home, "Nora Natt", personnummer="194001019803", times=[time(1, 0)])
    fake_clock.set(at_stockholm(2026, 12, 1, 1, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.get(person=person, night=date(2026, 11, 30))
    attempt, _token = actions.open_check(check, actor=home.user(Role.OPERATOR))
    show_picture(attempt)
    actions.record_outcome(attempt, actor=home.user(Role.OPERATOR), outcome=Outcome.SEEN_OK)
    assert figures.monthly_figures(home.tenant, NOVEMBER).total.done == 1
    assert figures.monthly_figures(home.tenant, date(2026, 12, 1)).total.done == 0


def test_the_page_shows_the_figures_and_the_charts(night: SampleNight, admin_client: Client) -> None:
    response = admin_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["report"].total.on_time_rate == Decimal("60.0")
    for testid in (
        "chart-on-time",
        "chart-hours",
        "chart-causes",
        "table-units",
        "table-causes",
        "table-benefit",
        "table-nights",
        "table-hours",
    ):
        assert f'data-testid="{testid}"' in page
    assert "<svg" in page and "<script" not in page.split("<main")[1]
    assert ' style="' not in page  # the Content-Security-Policy forbids inline styles
    assert "Norr" in page and "Söder" in page
    assert 'href="/static/reports/reports.css"' in page


def test_every_table_exports_as_csv(night: SampleNight, admin_client: Client) -> None:
    units = csv_rows(admin_client.get(URL + "&format=csv&table=units"))
    assert [row[0] for row in units[1:]] == ["Norr", "Söder", "Väst", "Total"]
    header = units[0]
    total = dict(zip(header, units[-1], strict=True))
    norr = dict(zip(header, units[1], strict=True))
    assert len(header) == 13
    assert [total[header[i]] for i in (1, 2, 3, 4, 5, 6, 7, 8, 9)] == ["3", "1", "7", "4", "60.0", "1", "3", "3", "2"]
    assert norr[header[12]] == "28.0"
    for slug in ("nights", "hours", "causes", "benefit"):
        response = admin_client.get(URL + f"&format=csv&table={slug}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert len(csv_rows(response)) > 1
    assert admin_client.get(URL + "&format=csv&table=nonsense").status_code == 404


def test_the_monthly_pdf_has_the_month(night: SampleNight, admin_client: Client) -> None:
    response = admin_client.get(URL + "&format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = response.content
    assert body.startswith(b"%PDF")
    assert b"2026-11" in body  # the document's subject
    text = b"".join(
        zlib.decompress(stream)
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
        if stream[:1] == b"x"
    )
    assert b"2026-11" in text and b"Nattby kommun" in text and b"Norr" in text


def numbers(count: int) -> list[str]:
    found: list[str] = []
    serial = 2000
    while len(found) < count:
        serial += 1
        digits = f"410101{serial:04d}"
        if luhn_valid(digits):
            found.append("19" + digits)
    return found


def test_the_query_count_does_not_grow_with_the_number_of_persons(
    home: Municipality, fake_clock: FakeClock, admin_client: Client
) -> None:
    from checks.engine import NightWorker

    def queries() -> tuple[int, int]:
        fake_clock.set(at_stockholm(2026, 11, 24, 7, 0))
        NightWorker("t").tick(fake_clock())
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(URL).status_code == 200
        care_data = [q for q in captured if re.search(r'FROM "(checks|people|cameras|reports)_', q["sql"])]
        return len(captured), len(care_data)

    people = numbers(6)
    make_person(home, "P0", personnummer=people[0], times=[time(23, 0)])
    few = queries()
    for index, number in enumerate(people[1:], start=1):
        make_person(home, f"P{index}", personnummer=number, times=[time(23, 0), time(2, 0)], with_camera=index % 2)
    assert queries() == few
    # checks per night and instant; per unit (nothing is settled yet): checks, on time, views;
    # persons; escalations; fault nights; benefit parameters
    assert few[1] == 8


def test_settled_nights_are_tallied_once_and_give_the_same_figures(
    night: SampleNight, home: Municipality, fake_clock: FakeClock
) -> None:
    from reports.models import NightTally, NightViewTally

    live = figures.monthly_figures(home.tenant, NOVEMBER)  # 07:00 on the 24th: nothing settled yet
    assert not NightTally.objects.exists()

    fake_clock.set(at_stockholm(2026, 11, 25, 13, 0))  # a day after the night of the 23rd ended
    tallied = figures.monthly_figures(home.tenant, NOVEMBER)
    assert set(NightTally.objects.values_list("night", flat=True)) == {date(2026, 11, 23)}
    assert NightViewTally.objects.get().views == 1
    assert (tallied.units, tallied.total, tallied.nights, tallied.causes) == (
        live.units, live.total, live.nights, live.causes)  # fmt: skip

    rows = NightTally.objects.count()
    assert figures.monthly_figures(home.tenant, NOVEMBER).total == live.total
    assert NightTally.objects.count() == rows  # read back, not written again

    # A tally that no longer adds up to the night's checks is counted again.
    NightTally.objects.filter(state="escalated").delete()
    assert figures.monthly_figures(home.tenant, NOVEMBER).units == live.units
    assert NightTally.objects.count() == rows


def test_the_tally_command_counts_settled_nights_ahead_of_the_first_render(
    night: SampleNight, home: Municipality, fake_clock: FakeClock
) -> None:
    from django.core.management import call_command

    from reports.models import NightTally

    fake_clock.set(at_stockholm(2026, 11, 25, 13, 0))
    call_command("tally_nights", stdout=io.StringIO())
    call_command("tally_nights", stdout=io.StringIO())  # again: nothing doubles
    assert set(NightTally.objects.values_list("night", flat=True)) == {date(2026, 11, 23)}  # the 24th is not over
    assert sum(NightTally.objects.values_list("checks", flat=True)) == 7


def test_the_worker_tallies_settled_nights_once_a_day_after_reconciling(
    night: SampleNight, home: Municipality, fake_clock: FakeClock
) -> None:
    from checks.engine import NightWorker
    from reports.models import NightTally

    fake_clock.set(at_stockholm(2026, 11, 25, 13, 0))  # reconciles the night of the 24th
    report = NightWorker("t").tick(fake_clock())
    assert report.counts.get("nights_reconciled") and report.counts.get("nights_tallied")
    assert set(NightTally.objects.values_list("night", flat=True)) == {date(2026, 11, 23)}
    fake_clock.advance(minutes=1)
    assert "nights_tallied" not in NightWorker("t").tick(fake_clock()).counts  # once a day, not every tick
