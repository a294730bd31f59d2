"""A changed agreement keeps the checks already planned for its times."""

from __future__ import annotations

from datetime import time

import pytest

from accounts.models import Role
from checks.actions.agreements import save_agreement
from checks.engine import NightWorker
from checks.models import Check, CheckForm
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


def test_a_changed_form_keeps_tonights_check(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Form", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    NightWorker("t").tick(fake_clock())
    fake_clock.advance(minutes=5)
    times = [(time(23, 0), CheckForm.PHYSICAL)]
    save_agreement(
        person, actor=home.user(Role.PLANNER), retry_delay_min=15, notes="", times=times, escalation_steps=[]
    )
    NightWorker("t").tick(fake_clock())
    checks = Check.objects.filter(person=person).order_by("night")
    assert [(check.state, check.form) for check in checks] == [("planned", "physical"), ("planned", "physical")]
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    assert Check.objects.get(person=person, night="2026-11-23").state == "visit_pending"
