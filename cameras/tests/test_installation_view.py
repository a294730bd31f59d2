"""A test with picture at installation: the operator looks, with the person's consent given now."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.actions import redeem_grant
from cameras.models import GrantPurpose, ViewGrant
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, make_person

pytestmark = pytest.mark.django_db


def test_an_operator_opens_an_installation_view_with_consent_given_now(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], tested=False)
    client.force_login(home.user(Role.OPERATOR))
    response = client.post(f"/cameras/{person.camera.id}/installation-view", {"consent_given_by": "Astrid själv"})
    assert response.status_code == 302 and "/console/views/" in response["Location"]
    grant = ViewGrant.objects.get(purpose=GrantPurpose.INSTALL_TEST)
    assert grant.person == person and grant.attempt is None
    assert 'data-token="v1.' in client.get(response["Location"]).content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.INSTALLATION_VIEW)
    assert entry.detail["consent_given_by"] == "Astrid själv" and entry.person == person
    assert redeem_grant(str(grant.gid), gateway="gw1")[1] is None


def test_no_installation_view_without_consent_given_now(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], tested=False)
    client.force_login(home.user(Role.OPERATOR))
    client.post(f"/cameras/{person.camera.id}/installation-view", {"consent_given_by": "  "})
    assert not ViewGrant.objects.exists()


def test_no_installation_view_for_a_person_who_has_not_consented(
    home: Municipality, fake_clock: FakeClock, client: Client
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], tested=False, consent=False)
    client.force_login(home.user(Role.OPERATOR))
    client.post(f"/cameras/{person.camera.id}/installation-view", {"consent_given_by": "Någon annan"})
    grant = ViewGrant.objects.get()
    assert redeem_grant(str(grant.gid), gateway="gw1")[1] == "no_valid_consent"


def test_only_operators_open_installation_views(client: Client, home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], tested=False)
    client.force_login(home.user(Role.INSTALLER))
    assert (
        client.post(f"/cameras/{person.camera.id}/installation-view", {"consent_given_by": "Astrid"}).status_code == 403
    )


def test_an_installation_view_ends_when_a_trial_consent_does(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    """Nothing revokes a running view at midnight when a trial period ends: the grant's
    hard end must already be there."""
    from datetime import datetime, timedelta

    from nattillsyn.clock import STOCKHOLM

    fake_clock.set(datetime(2026, 11, 23, 23, 59, 50, tzinfo=STOCKHOLM))
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], tested=False)
    person.consents.update(valid_until=clock.day_of(fake_clock()))
    client.force_login(home.user(Role.OPERATOR))
    client.post(f"/cameras/{person.camera.id}/installation-view", {"consent_given_by": "Astrid själv"})
    grant = ViewGrant.objects.get()
    assert grant.hard_end == datetime(2026, 11, 24, 0, 0, tzinfo=STOCKHOLM)
    assert grant.start_by <= grant.hard_end
    fake_clock.set(grant.hard_end + timedelta(seconds=1))
    assert redeem_grant(str(grant.gid), gateway="gw1")[1] is not None
