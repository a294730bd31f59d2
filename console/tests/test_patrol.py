from __future__ import annotations

from datetime import time

import pytest

from accounts.models import Role
from checks import actions
from checks.engine import NightWorker
from checks.models import Check, CheckState, Escalation, EscalationCause, EscalationResult, EscalationState
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, SecondFactorClient, at_stockholm, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def night(home: Municipality, fake_clock: FakeClock) -> dict[str, Escalation]:
    """A planned visit at 22:00, then two emergencies at 22:10 and 22:20."""
    visit = make_person(home, "Vera Besök", personnummer=TEST_PERSONNUMMER[0], times=[time(22, 0)], tested=False)
    helped = make_person(home, "Hugo Hjälp", personnummer=TEST_PERSONNUMMER[1], times=[time(22, 10)])
    missed = make_person(home, "Mats Miss", personnummer=TEST_PERSONNUMMER[2], times=[time(22, 20)])
    worker = NightWorker("t")
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 0))
    worker.tick(fake_clock())  # the untested camera makes Vera's check a planned visit
    for minute, person, cause in [(10, helped, EscalationCause.NEEDS_HELP), (20, missed, EscalationCause.MISSED)]:
        fake_clock.set(at_stockholm(2026, 11, 23, 22, minute))
        worker.tick(fake_clock())
        actions.escalate(
            Check.objects.get(person=person, state=CheckState.DUE), cause=cause, actor=home.user(Role.OPERATOR)
        )
    return {
        "visit": Escalation.objects.get(person=visit),
        "helped": Escalation.objects.get(person=helped),
        "missed": Escalation.objects.get(person=missed),
    }


def patrol_client(home: Municipality) -> SecondFactorClient:
    client = SecondFactorClient()
    client.force_login(home.user(Role.PATROL))
    return client


def test_it_lists_emergencies_newest_first_then_planned_visits(
    home: Municipality, night: dict[str, Escalation]
) -> None:
    page = patrol_client(home).get("/console/patrol/").content.decode()
    assert page.index("Mats Miss") < page.index("Hugo Hjälp") < page.index("Vera Besök")
    assert page.count('data-kind="emergency"') == 2 and page.count('data-kind="planned"') == 1
    assert ">Akut<" in page and ">Planerat besök<" in page


def test_it_links_the_address_to_a_map_and_the_numbers_to_the_phone(
    home: Municipality, night: dict[str, Escalation]
) -> None:
    page = patrol_client(home).get("/console/patrol/").content.decode()
    assert 'href="geo:0,0?q=Mats%20Miss' in page
    assert 'href="tel:0701234567"' in page and 'href="tel:0707654321"' in page


def test_it_records_a_result_only_after_acknowledging(home: Municipality, night: dict[str, Escalation]) -> None:
    client = patrol_client(home)
    escalation = night["helped"]
    url = f"/console/patrol/{escalation.id}"
    page = client.get("/console/patrol/").content.decode()
    assert f'action="{url}/resolve"' not in page  # no result form before acknowledging

    response = client.post(f"{url}/resolve", {"result": EscalationResult.VISITED_OK}, follow=True)
    assert "Kvittera eskaleringen först" in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.OPEN

    response = client.post(f"{url}/acknowledge", follow=True)
    assert "Du har kvitterat Hugo Hjälp" in response.content.decode()
    assert f'action="{url}/resolve"' in response.content.decode()

    response = client.post(f"{url}/resolve", {"result": EscalationResult.VISITED_OK, "note": ""}, follow=True)
    assert "Resultat registrerat för Hugo Hjälp: Besökt: OK." in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.RESOLVED


def test_the_planned_visit_ends_its_check_when_recorded(home: Municipality, night: dict[str, Escalation]) -> None:
    client = patrol_client(home)
    visit = night["visit"]
    client.post(f"/console/patrol/{visit.id}/acknowledge")
    client.post(f"/console/patrol/{visit.id}/resolve", {"result": EscalationResult.VISITED_OK})
    assert visit.night_check is not None
    visit.night_check.refresh_from_db()
    assert visit.night_check.state == CheckState.DONE
