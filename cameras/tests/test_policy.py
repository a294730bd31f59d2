"""The one privacy policy (cameras/policy.py): one question for every purpose, a grant
only with its permission, and every reason it can give has words for the user."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from accounts.models import Role
from cameras.actions import issue_grant
from cameras.models import Camera, GrantPurpose
from cameras.policy import REFUSAL_MESSAGES, ViewPermission, refused, view_permission
from checks.models import Check, CheckForm, CheckState
from gateway.grants import Purpose, ViewRefusal
from nattillsyn.clock import FakeClock
from nattillsyn.codes import REASONS
from nattillsyn.testing import (
    TEST_PERSONNUMMER,
    Municipality,
    at_stockholm,
    camera_of,
    make_person,
    make_training_camera,
)
from people.models import Person

pytestmark = pytest.mark.django_db

OFFICE = "10.1.0.0/16"


@pytest.fixture
def person(home: Municipality, fake_clock: FakeClock) -> Person:
    return make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])


def test_every_reason_the_policy_gives_has_words() -> None:
    """A refusal is shown to the user and written in the audit log: never as a code."""
    assert set(ViewRefusal) <= set(REASONS)
    # The reasons a click can meet without facts to name have a sentence of their own.
    facts_named = {ViewRefusal.OUTSIDE_INSTALLATION_SLOT, ViewRefusal.NETWORK_NOT_ALLOWED}
    grant_only = {
        ViewRefusal.CHECK_CLOSED,
        ViewRefusal.CAMERA_COVERED,  # the check becomes a visit before anyone can open it
        ViewRefusal.ADDRESS_MISMATCH,
        ViewRefusal.UNKNOWN,
        ViewRefusal.ALREADY_USED,
        ViewRefusal.NOT_VIEWABLE,
        ViewRefusal.REVOKED,
        ViewRefusal.EXPIRED,
    }
    assert set(ViewRefusal) - facts_named - grant_only <= set(REFUSAL_MESSAGES)


def test_a_check_is_asked_for_the_check_its_window_and_the_viewers_network(
    home: Municipality, person: Person, fake_clock: FakeClock
) -> None:
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 0))
    check = Check.objects.create(
        tenant=home.tenant,
        person=person,
        night=date(2026, 11, 23),
        scheduled_at=at_stockholm(2026, 11, 23, 22, 0),
        window_ends_at=at_stockholm(2026, 11, 23, 22, 30),
        state=CheckState.DUE,
        form=CheckForm.CAMERA,
    )
    allowed = view_permission(purpose=Purpose.CHECK, moment=fake_clock(), ip="10.1.2.3", check=check)
    assert allowed.allowed and allowed.until == check.window_ends_at
    # The preparation is asked the same question, with no viewer to place.
    assert view_permission(purpose=Purpose.PREPARE, moment=fake_clock(), ip=None, check=check).allowed
    late = view_permission(purpose=Purpose.CHECK, moment=check.window_ends_at, ip="10.1.2.3", check=check)
    assert late.refusal == ViewRefusal.OUTSIDE_CHECK_WINDOW and late.message
    home.tenant.camera_networks = OFFICE
    home.tenant.save()
    check.tenant.refresh_from_db()
    outside = view_permission(purpose=Purpose.CHECK, moment=fake_clock(), ip="192.0.2.7", check=check)
    assert outside.refusal == ViewRefusal.NETWORK_NOT_ALLOWED and home.tenant.name in outside.message
    assert view_permission(purpose=Purpose.CHECK, moment=fake_clock(), ip="10.1.2.3", check=check).allowed


def test_training_is_only_for_a_training_camera(home: Municipality, person: Person, fake_clock: FakeClock) -> None:
    training = make_training_camera(home)
    assert view_permission(purpose=Purpose.TRAINING, moment=fake_clock(), ip=None, camera=training).allowed
    persons_camera = camera_of(person)
    refusal = view_permission(purpose=Purpose.TRAINING, moment=fake_clock(), ip=None, camera=persons_camera)
    assert refusal.refusal == ViewRefusal.NOT_A_TRAINING_CAMERA


def test_an_installation_test_needs_a_booked_slot(home: Municipality, person: Person, fake_clock: FakeClock) -> None:
    permission = view_permission(purpose=Purpose.INSTALL_TEST, moment=fake_clock(), ip=None, camera=camera_of(person))
    assert permission.refusal == ViewRefusal.NO_INSTALLATION_BOOKING
    unassigned = Camera.objects.create(tenant=home.tenant, name="spare", stream_url="rtsp://127.0.0.1:8554/spare")
    permission = view_permission(purpose=Purpose.INSTALL_TEST, moment=fake_clock(), ip=None, camera=unassigned)
    assert permission.refusal == ViewRefusal.NO_PERSON


def test_no_grant_without_the_policys_permission(home: Municipality, person: Person, fake_clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="permission"):
        issue_grant(
            camera_of(person),
            actor=home.user(Role.OPERATOR),
            purpose=GrantPurpose.CHECK,
            person=person,
            permission=refused(ViewRefusal.NOT_YET_DUE),
        )
    # The grant ends when the permission does, whatever else it was asked for.
    until = fake_clock() + timedelta(seconds=3)
    grant, _token = issue_grant(
        camera_of(person),
        actor=home.user(Role.OPERATOR),
        purpose=GrantPurpose.CHECK,
        person=person,
        permission=ViewPermission(until=until),
    )
    assert grant.hard_end == until
