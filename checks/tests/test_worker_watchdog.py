"""The watchdog: when no worker has reported for two minutes, /health answers 503 and
the operator and the shift lead see a red banner."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from checks.engine import NightWorker
from nattillsyn.clock import FakeClock
from nattillsyn.testing import Municipality

pytestmark = pytest.mark.django_db

BANNER = 'data-testid="worker-silent"'


def test_the_watchdog_turns_red_two_minutes_after_the_last_tick(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    client.force_login(home.user(Role.SHIFT_LEAD))
    assert client.get("/health").status_code == 503  # no worker has ever reported
    assert BANNER in client.get("/console/lead/").content.decode()

    NightWorker("w1").tick(fake_clock())
    assert client.get("/health").json() == {"database": "ok", "worker": "ok"}
    assert BANNER not in client.get("/console/lead/").content.decode()

    fake_clock.advance(seconds=119)
    assert client.get("/health").status_code == 200
    fake_clock.advance(seconds=2)
    assert client.get("/health").status_code == 503
    assert client.get("/health").json()["worker"] == "silent"
    assert BANNER in client.get("/console/lead/").content.decode()

    client.force_login(home.user(Role.OPERATOR))
    assert BANNER in client.get("/console/").content.decode()


def test_any_one_live_worker_keeps_the_watchdog_green(
    client: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    NightWorker("dead").tick(fake_clock())
    fake_clock.advance(minutes=10)
    NightWorker("alive").tick(fake_clock())
    assert client.get("/health").status_code == 200
