"""A municipality that lets cameras be opened only from its own networks: enforced on
the server for every kind of view, whatever address the request claims."""

from __future__ import annotations

from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import Role
from accounts.networks import address_allowed, parse_networks
from audit.models import AuditAction, AuditEntry
from cameras.actions import AccessRefused
from cameras.models import ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db

OFFICE = "10.20.0.0/16\n2001:db8:20::/48  # the office's IPv6\n"


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("10.20.3.4", True),
        ("::ffff:10.20.3.4", True),  # IPv4 mapped into IPv6 by a dual-stack socket
        ("2001:db8:20::9", True),
        ("10.21.0.1", False),
        ("::ffff:10.21.0.1", False),
        ("2001:db8:21::9", False),
        ("", False),
        (None, False),
        ("not an address", False),
    ],
)
def test_it_allows_only_addresses_inside_the_ranges(ip: str | None, allowed: bool) -> None:
    assert address_allowed(OFFICE, ip) is allowed


def test_no_ranges_means_any_network() -> None:
    assert address_allowed("", "203.0.113.5") and address_allowed("  \n# none yet\n", None)


def test_a_bad_range_is_a_clear_error(home: Municipality) -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_networks("10.0.0.0/8\n10.0.0.0/33\n")
    home.tenant.camera_networks = "10.0.0.0/8\nkontoret\n"
    with pytest.raises(ValidationError) as error:
        home.tenant.full_clean()
    assert "camera_networks" in error.value.message_dict


@pytest.fixture
def due_check(home: Municipality, fake_clock: FakeClock) -> Check:
    person = make_person(home, "Nätet", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    home.tenant.camera_networks = OFFICE
    home.tenant.save()
    return Check.objects.get(person=person, state="due")


def test_a_check_opened_from_outside_is_refused_and_audited(home: Municipality, due_check: Check) -> None:
    with pytest.raises(AccessRefused) as refusal:
        actions.open_check(due_check, actor=home.user(Role.OPERATOR), ip="198.51.100.7")
    assert refusal.value.reason == "network_not_allowed"  # the message is in the user's language
    refused = AuditEntry.objects.get(action=AuditAction.GRANT_REFUSED)
    assert refused.detail == {"reason": "network_not_allowed"} and refused.ip == "198.51.100.7"
    assert not ViewGrant.objects.exists()
    due_check.refresh_from_db()
    assert due_check.state == "due" and not due_check.attempts.exists()  # nothing of the attempt is left


def test_a_check_opened_from_the_office_is_granted(home: Municipality, due_check: Check) -> None:
    attempt, token = actions.open_check(due_check, actor=home.user(Role.OPERATOR), ip="10.20.3.4")
    assert token and ViewGrant.objects.get().attempt == attempt


def test_a_forwarded_for_header_does_not_bring_a_request_inside(
    client: Client, home: Municipality, due_check: Check
) -> None:
    client.force_login(home.user(Role.OPERATOR))
    response = client.post(
        f"/console/checks/{due_check.id}/open",
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="10.20.3.4",
        HTTP_X_REAL_IP="10.20.3.4",
    )
    assert response.status_code in (200, 302)
    assert not ViewGrant.objects.exists()
    assert AuditEntry.objects.filter(action=AuditAction.GRANT_REFUSED, detail__reason="network_not_allowed").exists()


def test_training_and_installation_views_follow_the_same_rule(home: Municipality, due_check: Check) -> None:
    from datetime import timedelta

    from cameras.actions import book_installation, open_installation_view, record_installation_consent
    from nattillsyn import clock

    camera = due_check.person.camera
    booking = book_installation(
        camera,
        actor=home.user(Role.INSTALLER),
        starts_at=clock.now() - timedelta(minutes=5),
        ends_at=clock.now() + timedelta(hours=1),
        kind="installation",
    )
    record_installation_consent(booking, actor=home.user(Role.PLANNER), given_by="Nätet", method="oral")
    with pytest.raises(AccessRefused, match="nätverk"):
        open_installation_view(camera, actor=home.user(Role.OPERATOR), ip="198.51.100.7")
    assert not AuditEntry.objects.filter(action=AuditAction.INSTALLATION_VIEW).exists()  # undone with the view
    assert AuditEntry.objects.filter(action=AuditAction.GRANT_REFUSED).count() == 1
