"""A grant is bound to the address it was issued to: the gateway reports where the WHEP
offer came from, and the control plane refuses the redeem from anywhere else. The redeem
answer carries the view's limits as stored, which the gateway applies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.models import ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db

OPERATOR_IP = "10.20.3.4"


def redeem(gid: str, **extra: Any) -> Any:
    return Client().post(
        "/internal/gateway/redeem",
        data=json.dumps({"gid": gid, "gateway": "gw1", **extra}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.GATEWAY_TOKEN}",
    )


@pytest.fixture
def grant(home: Municipality, fake_clock: FakeClock) -> ViewGrant:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.filter(person=person).order_by("scheduled_at").first()
    actions.open_check(check, actor=home.user(Role.OPERATOR), ip=OPERATOR_IP)
    return ViewGrant.objects.get()


def test_it_stores_the_address_the_grant_was_issued_to(grant: ViewGrant) -> None:
    assert grant.issued_ip == OPERATOR_IP


def test_it_redeems_for_the_same_address_and_answers_the_stored_limits(grant: ViewGrant) -> None:
    response = redeem(str(grant.gid), viewer_ip=OPERATOR_IP)
    assert response.status_code == 200
    body = response.json()
    assert body["hard_end"] == grant.hard_end.timestamp()
    assert body["max_view_s"] == grant.max_view_s


def test_an_ipv4_mapped_ipv6_address_is_the_same_address(grant: ViewGrant) -> None:
    # A dual-stack socket on the gateway reports IPv4 viewers this way.
    assert redeem(str(grant.gid), viewer_ip=f"::ffff:{OPERATOR_IP}").status_code == 200


@pytest.mark.parametrize("viewer_ip", ["10.20.3.5", "2001:db8::1", None, "not an address"])
def test_it_refuses_and_audits_a_redeem_from_another_or_an_unknown_address(
    grant: ViewGrant, viewer_ip: str | None
) -> None:
    response = redeem(str(grant.gid), viewer_ip=viewer_ip)
    assert response.status_code == 403 and response.json() == {"error": "address_mismatch"}
    refused = AuditEntry.objects.get(action=AuditAction.GRANT_REFUSED)
    assert refused.detail["reason"] == "address_mismatch"
    assert refused.ip == (viewer_ip if viewer_ip and viewer_ip[0] != "n" else None)
    grant.refresh_from_db()
    assert grant.redeemed_at is None  # still unused: the operator's own browser may redeem it
    assert redeem(str(grant.gid), viewer_ip=OPERATOR_IP).status_code == 200


def test_a_viewer_address_that_is_not_a_string_is_a_bad_request(grant: ViewGrant) -> None:
    assert redeem(str(grant.gid), viewer_ip=["10.20.3.4"]).status_code == 400
    grant.refresh_from_db()
    assert grant.redeemed_at is None


def test_a_grant_issued_without_an_address_is_not_bound(grant: ViewGrant) -> None:
    ViewGrant.objects.filter(id=grant.id).update(issued_ip=None)  # issued before this field existed
    assert redeem(str(grant.gid), viewer_ip="192.0.2.9").status_code == 200
