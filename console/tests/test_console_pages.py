from __future__ import annotations

from datetime import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from checks import actions
from checks.engine import NightWorker
from checks.models import Check, Outcome, WorkerHeartbeat
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person
from people.personnummer import luhn_valid

pytestmark = pytest.mark.django_db


def numbers(count: int) -> list[str]:
    found = []
    serial = 1000
    while len(found) < count:
        serial += 1
        digits = f"400101{serial:04d}"
        if luhn_valid(digits):
            found.append("19" + digits)
    return found


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_console_lists_overdue_checks_first_then_the_soonest(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    early = make_person(home, "Tidig", personnummer=TEST_PERSONNUMMER[0], times=[time(22, 0)])
    late = make_person(home, "Sen", personnummer=TEST_PERSONNUMMER[1], times=[time(22, 30)])
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 0))
    NightWorker("t").tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 30))
    NightWorker("t").tick(fake_clock())
    client.force_login(home.user(Role.OPERATOR))
    page = client.get("/console/").content.decode()
    assert page.index("Tidig") < page.index("Sen")
    assert page.count("badge overdue") == 1  # 22:00 is 30 min late; 22:30 is due now
    assert early and late


def test_the_console_query_count_does_not_grow_with_the_number_of_checks(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    client.force_login(home.user(Role.OPERATOR))
    for index, number in enumerate(numbers(3)):
        make_person(home, f"P{index}", personnummer=number, times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    few = queries_for(client, "/console/")
    for index, number in enumerate(numbers(30)[3:]):
        make_person(home, f"Q{index}", personnummer=number, times=[time(23, 0)])
    NightWorker("t").tick(fake_clock())
    assert Check.objects.filter(state="due").count() == 30
    assert queries_for(client, "/console/") == few


def test_patrol_and_lead_pages_have_a_fixed_query_count(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    persons = [make_person(home, f"P{i}", personnummer=n, times=[time(23, 0)]) for i, n in enumerate(numbers(4))]
    NightWorker("t").tick(fake_clock())
    operator = home.user(Role.OPERATOR)
    for person in persons[:2]:
        attempt, _ = actions.open_check(
            Check.objects.filter(person=person).order_by("scheduled_at").first(), actor=operator
        )
        actions.record_outcome(attempt, actor=operator, outcome=Outcome.NEEDS_HELP)
    client.force_login(home.user(Role.SHIFT_LEAD))
    patrol_few, lead_few = queries_for(client, "/console/patrol/"), queries_for(client, "/console/lead/")
    for person in persons[2:]:
        attempt, _ = actions.open_check(
            Check.objects.filter(person=person).order_by("scheduled_at").first(), actor=operator
        )
        actions.record_outcome(attempt, actor=operator, outcome=Outcome.TECHNICAL_FAULT)
    fake_clock.advance(minutes=30)
    NightWorker("t").tick(fake_clock())
    assert queries_for(client, "/console/patrol/") == patrol_few
    assert queries_for(client, "/console/lead/") == lead_few


def test_the_watchdog_banner_shows_when_no_worker_reported(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    client.force_login(home.user(Role.OPERATOR))
    assert 'data-testid="worker-silent"' in client.get("/console/").content.decode()
    assert client.get("/health").status_code == 503
    NightWorker("t").tick(fake_clock())
    assert WorkerHeartbeat.objects.exists()
    assert 'data-testid="worker-silent"' not in client.get("/console/").content.decode()
    assert client.get("/health").json() == {"database": "ok", "worker": "ok"}
    fake_clock.advance(minutes=3)
    assert 'data-testid="worker-silent"' in client.get("/console/").content.decode()


def test_only_the_operator_who_opened_a_check_sees_its_live_page(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    attempt, _ = actions.open_check(
        Check.objects.filter(person=person).order_by("scheduled_at").first(), actor=home.user(Role.OPERATOR)
    )
    from nattillsyn.testing import make_user

    colleague = make_user("kollega", home.tenant, Role.OPERATOR)
    client.force_login(colleague)
    assert client.get(f"/console/attempts/{attempt.id}/").status_code == 404
    assert client.post(f"/console/attempts/{attempt.id}/outcome", {"outcome": "seen_ok"}).status_code == 404
    client.force_login(home.user(Role.OPERATOR))
    page = client.get(f"/console/attempts/{attempt.id}/").content.decode()
    assert 'data-token="v1.' in page


def test_the_console_lists_the_work_of_now_then_only_the_next_few(
    client: Client, home: Municipality, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("console.views.CONSOLE_NOW_LIMIT", 3)
    monkeypatch.setattr("console.views.CONSOLE_NEXT_LIMIT", 2)
    numbers_free = iter(numbers(10))
    for index in range(5):
        make_person(home, f"Nu{index}", personnummer=next(numbers_free), times=[time(23, 0)])
    for index in range(5):
        make_person(home, f"Sedan{index}", personnummer=next(numbers_free), times=[time(23, 30 + index)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    client.force_login(home.user(Role.OPERATOR))
    page = client.get("/console/").content.decode()
    assert page.count('data-testid="check-row"') == 3 + 2
    assert 'data-testid="more-now"' in page and ">2 " in page
    assert page.count('data-person="Sedan') == 2 and "Sedan0" in page and "Sedan1" in page
    assert 'data-testid="more-later"' in page
    assert page.count('data-testid="open-check"') == 3  # only the checks of now open


def test_an_overdue_check_stays_on_top_whatever_the_number_due(
    client: Client, home: Municipality, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("console.views.CONSOLE_NOW_LIMIT", 2)
    numbers_free = iter(numbers(5))
    make_person(home, "Glömd", personnummer=next(numbers_free), times=[time(22, 0)])
    for index in range(4):
        make_person(home, f"Ny{index}", personnummer=next(numbers_free), times=[time(22, 30)])
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 0))
    NightWorker("t").tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 30))
    NightWorker("t").tick(fake_clock())
    client.force_login(home.user(Role.OPERATOR))
    page = client.get("/console/").content.decode()
    rows = page.split('data-testid="check-row"')[1:]
    assert "Glömd" in rows[0] and "badge overdue" in rows[0]
    assert 'data-testid="more-now"' in page
