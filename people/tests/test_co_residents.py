"""Everyone at home consents: a co-resident's missing or withdrawn consent stops camera
checks as the person's own would (the one privacy rule, cameras.policy)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.policy import camera_allowed_for_person, camera_allowed_until
from checks import actions as check_actions
from checks.engine import NightWorker
from checks.models import Check, CheckForm, CheckState
from gateway.grants import verify_grant
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person
from people.actions import (
    ActionRefused,
    add_co_resident,
    register_co_resident_consent,
    withdraw_co_resident_consent,
)
from people.models import ConsentMethod, CoResident, CoResidentConsent
from people.rules import ConsentFacts, CoResidentFacts, FactList, co_resident_facts, household_consent_refusal

pytestmark = pytest.mark.django_db


def _consenting_co_resident(home: Municipality, person, name: str = "Bertil") -> CoResidentConsent:  # type: ignore[no-untyped-def]
    planner = home.user(Role.PLANNER)
    co_resident = add_co_resident(person, actor=planner, name=name, personnummer="")
    return register_co_resident_consent(
        co_resident, actor=planner, method=ConsentMethod.ORAL, given_at=clock.now() - timedelta(hours=1)
    )


def test_it_allows_the_camera_only_while_every_co_resident_consents(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    assert camera_allowed_for_person(person, clock.now()) is None
    co_resident = add_co_resident(person, actor=home.user(Role.PLANNER), name="Bertil", personnummer="")
    assert camera_allowed_for_person(person, clock.now()) == "no_co_resident_consent"
    consent = register_co_resident_consent(
        co_resident, actor=home.user(Role.PLANNER), method=ConsentMethod.WRITTEN, given_at=clock.now()
    )
    assert camera_allowed_for_person(person, clock.now()) is None
    assert camera_allowed_until(person, clock.now()) is None  # nothing registered ends it
    withdraw_co_resident_consent(consent, actor=home.user(Role.CASE_OFFICER), note="Vill inte")
    assert camera_allowed_for_person(person, clock.now()) == "no_co_resident_consent"
    assert camera_allowed_until(person, clock.now()) == clock.now()
    with pytest.raises(ActionRefused):
        withdraw_co_resident_consent(consent, actor=home.user(Role.CASE_OFFICER))
    actions = list(AuditEntry.objects.filter(person=person).values_list("action", flat=True))
    for action in (
        AuditAction.CO_RESIDENT_CHANGED,
        AuditAction.CO_RESIDENT_CONSENT_GIVEN,
        AuditAction.CO_RESIDENT_CONSENT_WITHDRAWN,
    ):
        assert actions.count(action) == 1


def test_a_co_residents_withdrawal_stops_the_running_view_and_turns_tonight_into_visits(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    consent = _consenting_co_resident(home, person)
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.filter(person=person).order_by("scheduled_at").first()
    assert check is not None and check.form == CheckForm.CAMERA
    _attempt, token = check_actions.open_check(check, actor=home.user(Role.OPERATOR))
    gid = verify_grant(token, settings.GRANT_KEY.encode(), now=fake_clock().timestamp()).gid
    headers = {"HTTP_AUTHORIZATION": f"Bearer {settings.GATEWAY_TOKEN}"}
    redeem = client.post(
        "/internal/gateway/redeem", json.dumps({"gid": gid}), content_type="application/json", **headers
    )
    assert redeem.status_code == 200
    withdraw_co_resident_consent(consent, actor=home.user(Role.PLANNER), note="Bertil vill inte")
    revoked = client.post(
        "/internal/gateway/revoked", json.dumps({"gids": [gid]}), content_type="application/json", **headers
    )
    assert revoked.json()["revoked"] == [gid]  # the gateway polls this every second
    remaining = Check.objects.filter(person=person, state__in=(CheckState.PLANNED, CheckState.VISIT_PENDING))
    assert remaining and all(c.form == CheckForm.PHYSICAL for c in remaining)
    check.refresh_from_db()
    assert check.form == CheckForm.PHYSICAL and check.form_note == "co_resident_consent_withdrawn"


def test_a_new_co_resident_without_consent_makes_the_due_check_a_visit(
    home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    fake_clock.set(at_stockholm(2026, 11, 23, 21, 0))
    NightWorker("t").tick(fake_clock())  # planned as camera checks
    add_co_resident(person, actor=home.user(Role.PLANNER), name="Bertil", personnummer=TEST_PERSONNUMMER[1])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.filter(person=person).order_by("scheduled_at").first()
    assert check is not None and check.form == CheckForm.PHYSICAL


def test_the_installation_view_needs_the_co_residents_consent(home: Municipality) -> None:
    from cameras.actions import AccessRefused, book_installation, open_installation_view, record_installation_consent
    from cameras.models import InstallationKind
    from people.models import ConsentMethod

    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    add_co_resident(person, actor=home.user(Role.PLANNER), name="Bertil", personnummer="")
    now = clock.now()
    booking = book_installation(
        person.camera,
        actor=home.user(Role.INSTALLER),
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(minutes=55),
        kind=InstallationKind.REINSTALLATION,
    )
    record_installation_consent(booking, actor=home.user(Role.PLANNER), given_by="Astrid", method=ConsentMethod.ORAL)
    with pytest.raises(AccessRefused) as refused:
        open_installation_view(person.camera, actor=home.user(Role.OPERATOR))
    assert refused.value.reason == "no_co_resident_consent"
    assert (
        AuditEntry.objects.filter(action=AuditAction.GRANT_REFUSED, detail__reason="no_co_resident_consent").count()
        == 1
    )


def test_the_planners_facts_answer_as_the_person_does(home: Municipality) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    consent = _consenting_co_resident(home, person)
    add_co_resident(person, actor=home.user(Role.PLANNER), name="Cilla", personnummer="")

    class Facts:
        consents = person.consents.all()
        co_residents = co_resident_facts([person.id])[person.id]

    assert household_consent_refusal(Facts, clock.now()) == household_consent_refusal(person, clock.now())
    assert household_consent_refusal(person, clock.now()) == "no_co_resident_consent"
    CoResident.objects.filter(name="Cilla").delete()
    Facts.co_residents = co_resident_facts([person.id])[person.id]
    assert household_consent_refusal(Facts, clock.now()) is None
    withdraw_co_resident_consent(consent, actor=home.user(Role.PLANNER))
    Facts.co_residents = co_resident_facts([person.id])[person.id]
    assert household_consent_refusal(Facts, clock.now()) == "no_co_resident_consent"


@given(
    spans=st.lists(st.tuples(st.integers(0, 100), st.one_of(st.none(), st.integers(1, 60))), min_size=0, max_size=4),
    moment=st.integers(0, 200),
)
@hypothesis_settings(max_examples=200, deadline=None)
def test_a_co_resident_consents_at_a_moment_exactly_when_one_of_their_spans_holds_it(
    spans: list[tuple[int, int | None]], moment: int
) -> None:
    base = at_stockholm(2026, 11, 1, 0, 0)
    consents = FactList(
        ConsentFacts(base + timedelta(hours=start), None if length is None else base + timedelta(hours=start + length))
        for start, length in spans
    )
    co_resident = CoResidentFacts(consents=consents)

    class Facts:
        class consents:
            @staticmethod
            def all() -> list[ConsentFacts]:
                return [ConsentFacts(base - timedelta(days=1), None)]

        co_residents = FactList([co_resident])

    at = base + timedelta(hours=moment)
    holds = any(
        base + timedelta(hours=start) <= at and (length is None or at < base + timedelta(hours=start + length))
        for start, length in spans
    )
    assert (household_consent_refusal(Facts, at) is None) == holds


def test_the_page_registers_a_co_resident_and_refuses_a_bad_number_keeping_what_was_typed(
    client: Client, home: Municipality
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    client.force_login(home.user(Role.CASE_OFFICER))
    url = f"/people/{person.id}/co-resident/"
    bad = client.post(url, {"name": "Bertil Berg", "personnummer": "19400101-9804"})
    assert bad.status_code == 200 and "Bertil Berg" in bad.content.decode()
    assert not CoResident.objects.exists()
    neither = client.post(url, {"name": "Bertil Berg", "personnummer": ""})
    assert neither.status_code == 200 and not CoResident.objects.exists()
    own = client.post(url, {"name": "Bertil Berg", "personnummer": "19400101-9803"})
    assert own.status_code == 200 and not CoResident.objects.exists()
    ok = client.post(url, {"name": "Bertil Berg", "no_personnummer": "on"})
    assert ok.status_code == 302
    co_resident = CoResident.objects.get()
    assert co_resident.personnummer == ""
    page = client.get(f"/people/{person.id}/").content.decode()
    assert "Bertil Berg" in page and 'data-testid="household-status"' in page
    given = client.post(
        f"/people/co-residents/{co_resident.id}/consent/",
        {"method": "oral", "given_at": clock.now().astimezone(clock.STOCKHOLM).strftime("%Y-%m-%dT%H:%M")},
    )
    assert given.status_code == 302 and co_resident.consents.count() == 1
    assert 'data-testid="household-status"' not in client.get(f"/people/{person.id}/").content.decode()
    consent = co_resident.consents.get()
    assert client.post(f"/people/co-resident-consents/{consent.id}/withdraw/", {"note": ""}).status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None


def test_another_municipality_cannot_reach_a_co_resident(
    client: Client, home: Municipality, outsider: Municipality
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    consent = _consenting_co_resident(home, person)
    client.force_login(outsider.user(Role.CASE_OFFICER))
    assert client.get(f"/people/co-residents/{consent.co_resident_id}/consent/").status_code == 404
    assert client.post(f"/people/co-resident-consents/{consent.id}/withdraw/", {}).status_code == 404
    assert client.get(f"/people/{person.id}/co-resident/").status_code == 404
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_planning_forecasts_a_visit_for_a_household_without_everyones_consent(
    home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    consenting = make_person(home, "Berit", personnummer=TEST_PERSONNUMMER[1])
    _consenting_co_resident(home, consenting)
    add_co_resident(person, actor=home.user(Role.PLANNER), name="Bertil", personnummer="")
    fake_clock.set(at_stockholm(2026, 11, 23, 21, 0))
    NightWorker("t").tick(fake_clock())
    forms = {(c.person_id, c.form, c.form_note) for c in Check.objects.filter(night="2026-11-23")}
    assert forms == {
        (person.id, CheckForm.PHYSICAL, "no_co_resident_consent"),
        (consenting.id, CheckForm.CAMERA, ""),
    }
