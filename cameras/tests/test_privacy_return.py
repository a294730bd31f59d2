"""The worker's safety net returns cameras to privacy after their grants end, without
letting slow camera APIs hold up the rest of the tick."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from accounts.models import Role
from cameras import actions as camera_actions
from cameras.models import ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended_grants(home: Municipality, fake_clock: FakeClock) -> list[int]:
    for index, number in enumerate(TEST_PERSONNUMMER[:3]):
        make_person(home, f"P{index}", personnummer=number)
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    for check in Check.objects.filter(state="due"):
        actions.open_check(check, actor=home.user(Role.OPERATOR))
    fake_clock.advance(minutes=5)  # every grant is past its hard end, none reported ended
    return list(ViewGrant.objects.order_by("hard_end").values_list("camera_id", flat=True))


def test_it_returns_every_camera_whose_grant_ended(ended_grants: list[int], fake_clock: FakeClock) -> None:
    assert len(ended_grants) == 3
    assert camera_actions.close_views_past_their_end(fake_clock()) == 3
    assert ViewGrant.objects.filter(camera_returned_to_privacy=False).count() == 0
    assert camera_actions.close_views_past_their_end(fake_clock()) == 0


def test_slow_cameras_do_not_hold_up_the_tick(
    ended_grants: list[int], fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monotonic = [0.0]
    returned: list[int] = []

    def slow_return(camera_id: int) -> bool:  # each camera API waits out its 2 s timeout
        monotonic[0] += 2.0
        returned.append(camera_id)
        ViewGrant.objects.filter(camera_id=camera_id).update(camera_returned_to_privacy=True)
        return True

    monkeypatch.setattr(camera_actions, "time", SimpleNamespace(monotonic=lambda: monotonic[0]))
    monkeypatch.setattr(camera_actions, "return_camera_to_privacy", slow_return)
    assert camera_actions.close_views_past_their_end(fake_clock(), budget_s=3.0) == 2
    assert returned == ended_grants[:2]  # oldest first
    assert camera_actions.close_views_past_their_end(fake_clock(), budget_s=3.0) == 1  # the next tick
    assert returned == ended_grants
