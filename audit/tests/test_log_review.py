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

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewed_person(home: Municipality, fake_clock: FakeClock):  # type: ignore[no-untyped-def]
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    attempt, _ = actions.open_check(Check.objects.filter(person=person).first(), actor=home.user(Role.OPERATOR))
    show_picture(attempt)
    actions.record_outcome(attempt, actor=home.user(Role.OPERATOR), outcome=Outcome.SEEN_OK)
    return person


def test_the_auditor_lists_the_log_for_one_person_and_period(client: Client, home: Municipality, viewed_person) -> None:
    client.force_login(home.user(Role.AUDITOR))
    page = client.get(
        "/audit/", {"person": viewed_person.id, "date_from": "2026-11-23", "date_to": "2026-11-24"}
    ).content.decode()
    assert page.count('data-testid="audit-entry"') >= 3
    assert 'data-action="check_opened"' in page and "nattby-operator" in page
    empty = client.get(
        "/audit/", {"person": viewed_person.id, "date_from": "2026-10-01", "date_to": "2026-10-02"}
    ).content.decode()
    assert 'data-testid="audit-entry"' not in empty


def test_a_period_that_ends_before_it_starts_is_an_error(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.AUDITOR))
    page = client.get("/audit/", {"date_from": "2026-11-24", "date_to": "2026-11-01"}).content.decode()
    assert 'data-testid="field-error-date_to"' in page


def test_the_person_extract_lists_who_opened_the_camera(client: Client, home: Municipality, viewed_person) -> None:
    client.force_login(home.user(Role.AUDITOR))
    response = client.get(f"/audit/persons/{viewed_person.id}/extract.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][1] == "Vem"
    assert any(row[1] == "nattby-operator" and row[0].startswith("2026-11-23 23:00") for row in rows[1:])


def test_the_person_extract_is_also_a_readable_pdf(client: Client, home: Municipality, viewed_person) -> None:
    from audit.models import AuditAction, AuditEntry

    client.force_login(home.user(Role.AUDITOR))
    response = client.get(f"/audit/persons/{viewed_person.id}/extract.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and len(response.content) > 1000
    assert AuditEntry.objects.filter(
        action=AuditAction.AUDIT_LOG_READ, person=viewed_person, detail__extract="pdf"
    ).exists()
    client.force_login(home.user(Role.OPERATOR))
    assert client.get(f"/audit/persons/{viewed_person.id}/extract.pdf").status_code == 403


def test_only_auditors_read_the_log(client: Client, home: Municipality, viewed_person) -> None:
    client.force_login(home.user(Role.OPERATOR))
    assert client.get("/audit/").status_code == 403
    assert client.get(f"/audit/persons/{viewed_person.id}/extract.csv").status_code == 403


def test_the_auditor_filters_by_user_and_action(client: Client, home: Municipality, viewed_person) -> None:
    client.force_login(home.user(Role.AUDITOR))
    operator = home.user(Role.OPERATOR)
    page = client.get("/audit/", {"user": operator.id, "action": "check_opened"}).content.decode()
    assert page.count('data-testid="audit-entry" data-action="check_opened"') >= 1
    assert page.count('data-testid="audit-entry"') == page.count('data-action="check_opened"')
    other = client.get("/audit/", {"user": home.user(Role.PLANNER).id, "action": "check_opened"}).content.decode()
    assert 'data-testid="audit-entry"' not in other  # the planner opened no camera
    unknown = client.get("/audit/", {"user": 999_999}).content.decode()
    assert 'data-testid="field-error-user"' in unknown


def test_the_log_opens_on_the_newest_entries_in_words(client: Client, home: Municipality, viewed_person) -> None:
    client.force_login(home.user(Role.AUDITOR))
    page = client.get("/audit/").content.decode()
    assert 'data-testid="audit-entry"' in page  # no need to press "Show" first
    assert "{&#x27;" not in page and "{'" not in page  # details in words, not a Python dict
