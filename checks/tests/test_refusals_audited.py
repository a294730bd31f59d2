"""A refused attempt to open a camera is itself in the audit log, even though the
refusal undoes everything else the attempt did."""

from __future__ import annotations

from datetime import time

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from nattillsyn.clock import FakeClock
from nattillsyn.errors import ActionRefused
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


def test_it_audits_a_check_opened_too_early(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Tidig", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 21, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.get(person=person, scheduled_at=at_stockholm(2026, 11, 23, 23, 0))
    with pytest.raises(ActionRefused):
        actions.open_check(check, actor=home.user(Role.OPERATOR), ip="192.0.2.7")
    refused = AuditEntry.objects.get(action=AuditAction.GRANT_REFUSED, person=person)
    assert refused.detail["reason"] == "not_yet_due"
    assert refused.actor == home.user(Role.OPERATOR) and refused.ip == "192.0.2.7"
    assert not AuditEntry.objects.filter(action=AuditAction.CHECK_OPENED).exists()
    check.refresh_from_db()
    assert check.state == "planned"  # nothing else of the attempt stayed
