"""A test with picture at installation: only inside a slot the installer booked, with the
person's consent to that test recorded beforehand by the planner or case officer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.actions import redeem_grant
from cameras.models import GrantPurpose, InstallationBooking, ViewGrant
from nattillsyn import clock
from nattillsyn.clock import STOCKHOLM, FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, make_person
from people.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(home: Municipality, fake_clock: FakeClock) -> Person:
    return make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], tested=False)


def book(client: Client, home: Municipality, person: Person, start: datetime, minutes: int = 60) -> None:
    client.force_login(home.user(Role.INSTALLER))
    fmt = "%Y-%m-%dT%H:%M"
    response = client.post(
        f"/cameras/{person.camera.id}/installation-booking",
        {
            "kind": "installation",
            "starts_at": start.astimezone(STOCKHOLM).strftime(fmt),
            "ends_at": (start + timedelta(minutes=minutes)).astimezone(STOCKHOLM).strftime(fmt),
        },
    )
    assert response.status_code == 302, response.content.decode()


def record_consent(client: Client, home: Municipality, person: Person, role: str = Role.PLANNER) -> None:
    client.force_login(home.user(role))
    booking = InstallationBooking.objects.get(camera=person.camera)
    response = client.post(
        f"/cameras/{person.camera.id}/installation-consent",
        {"booking": booking.id, "given_by": "Astrid själv", "method": "oral"},
    )
    assert response.status_code == 302, response.content.decode()


def open_view(client: Client, home: Municipality, person: Person) -> str:
    client.force_login(home.user(Role.OPERATOR))
    response = client.post(f"/cameras/{person.camera.id}/installation-view")
    assert response.status_code == 302
    return str(response["Location"])


def refusal(reason: str) -> AuditEntry:
    return AuditEntry.objects.get(action=AuditAction.GRANT_REFUSED, detail__reason=reason)


def test_an_operator_opens_an_installation_view_inside_the_booked_slot(
    client: Client, home: Municipality, person: Person, fake_clock: FakeClock
) -> None:
    book(client, home, person, fake_clock() - timedelta(minutes=10))
    record_consent(client, home, person, role=Role.CASE_OFFICER)
    location = open_view(client, home, person)
    assert "/console/views/" in location
    grant = ViewGrant.objects.get(purpose=GrantPurpose.INSTALL_TEST)
    assert grant.person == person and grant.attempt is None
    assert 'data-token="v1.' in client.get(location).content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.INSTALLATION_VIEW)
    assert entry.detail["consent_given_by"] == "Astrid själv" and entry.person == person
    consent = AuditEntry.objects.get(action=AuditAction.CONSENT_GIVEN, detail__scope="installation_test")
    assert consent.actor == home.user(Role.CASE_OFFICER) and consent.detail["method"] == "oral"
    assert redeem_grant(str(grant.gid), gateway="gw1")[1] is None


def test_no_installation_view_without_a_booking(
    client: Client, home: Municipality, person: Person, fake_clock: FakeClock
) -> None:
    open_view(client, home, person)
    assert not ViewGrant.objects.exists()
    assert refusal("no_installation_booking").person == person


def test_no_installation_view_outside_the_slot(
    client: Client, home: Municipality, person: Person, fake_clock: FakeClock
) -> None:
    book(client, home, person, fake_clock() + timedelta(hours=2))
    record_consent(client, home, person)
    open_view(client, home, person)
    assert not ViewGrant.objects.exists()
    assert refusal("outside_installation_slot")
    page = client.get(f"/cameras/{person.camera.id}/").content.decode()
    assert "23:00" in page  # the refusal names the booked time (21:00 + 2 h)
    fake_clock.advance(hours=3, minutes=1)  # the slot is over
    open_view(client, home, person)
    assert not ViewGrant.objects.exists()
    assert refusal("no_installation_booking")


def test_no_installation_view_without_consent_recorded_beforehand(
    client: Client, home: Municipality, person: Person, fake_clock: FakeClock
) -> None:
    book(client, home, person, fake_clock() - timedelta(minutes=5))
    open_view(client, home, person)
    assert not ViewGrant.objects.exists()
    assert refusal("no_installation_consent")


def test_the_grant_ends_with_the_slot(
    client: Client, home: Municipality, person: Person, fake_clock: FakeClock
) -> None:
    book(client, home, person, fake_clock() - timedelta(minutes=10))
    booking = InstallationBooking.objects.get()
    InstallationBooking.objects.filter(id=booking.id).update(ends_at=fake_clock() + timedelta(seconds=10))
    record_consent(client, home, person)
    open_view(client, home, person)
    grant = ViewGrant.objects.get()
    assert grant.hard_end <= fake_clock() + timedelta(seconds=10)


def test_a_booking_does_not_cover_the_cameras_next_person(
    client: Client, home: Municipality, person: Person, fake_clock: FakeClock
) -> None:
    book(client, home, person, fake_clock() - timedelta(minutes=5))
    record_consent(client, home, person)
    other = make_person(home, "Bertil", personnummer=TEST_PERSONNUMMER[1], with_camera=False)
    camera = person.camera
    camera.person = other
    camera.save()
    client.force_login(home.user(Role.OPERATOR))
    client.post(f"/cameras/{camera.id}/installation-view")
    assert not ViewGrant.objects.exists()


def test_no_installation_view_for_a_person_who_has_not_consented(
    home: Municipality, fake_clock: FakeClock, client: Client
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], tested=False, consent=False)
    book(client, home, person, fake_clock() - timedelta(minutes=5))
    record_consent(client, home, person)
    open_view(client, home, person)
    # Refused at the click, by the same rule the gateway's redeem asks (cameras.policy).
    assert not ViewGrant.objects.exists()
    assert refusal("no_valid_consent").person == person
    page = client.get(f"/cameras/{person.camera.id}/").content.decode()
    assert "no_valid_consent" not in page


def test_only_operators_open_installation_views(client: Client, home: Municipality, person: Person) -> None:
    client.force_login(home.user(Role.INSTALLER))
    assert client.post(f"/cameras/{person.camera.id}/installation-view").status_code == 403


def test_a_refused_booking_keeps_what_was_typed(client: Client, home: Municipality, person: Person) -> None:
    client.force_login(home.user(Role.INSTALLER))
    response = client.post(
        f"/cameras/{person.camera.id}/installation-booking",
        {"kind": "installation", "starts_at": "2026-11-23T22:00", "ends_at": "2026-11-24T04:00"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="2026-11-24T04:00"' in page and 'data-testid="form-error"' in page
    assert not InstallationBooking.objects.exists()


def test_an_installation_view_ends_when_a_trial_consent_does(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    """Nothing revokes a running view at midnight when a trial period ends: the grant's
    hard end must already be there."""
    fake_clock.set(datetime(2026, 11, 23, 23, 59, 50, tzinfo=STOCKHOLM))
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], tested=False)
    person.consents.update(valid_until=clock.day_of(fake_clock()))
    book(client, home, person, fake_clock() - timedelta(minutes=5))
    record_consent(client, home, person)
    open_view(client, home, person)
    grant = ViewGrant.objects.get()
    assert grant.hard_end == datetime(2026, 11, 24, 0, 0, tzinfo=STOCKHOLM)
    assert grant.start_by <= grant.hard_end
    fake_clock.set(grant.hard_end + timedelta(seconds=1))
    assert redeem_grant(str(grant.gid), gateway="gw1")[1] is not None
