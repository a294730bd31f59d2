from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings

from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.testing import Municipality, SecondFactorClient, make_municipality, make_user


@pytest.fixture(autouse=True)
def _fast_hashing_and_real_clock() -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pushes in line: a thread still sending when a test ends would hold its database.
    settings.PUSH_IN_BACKGROUND = False
    yield
    clock.reset()


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    """Starts at 2026-11-23 21:00 Stockholm (a winter night) unless moved."""
    fake = FakeClock(datetime(2026, 11, 23, 21, 0, tzinfo=clock.STOCKHOLM))
    clock.set_now_provider(fake)
    yield fake
    clock.reset()


@pytest.fixture
def home(db: None) -> Municipality:
    return make_municipality("Nattby kommun", "nattby")


@pytest.fixture
def outsider(db: None) -> Municipality:
    return make_municipality("Grannby kommun", "grannby")


@pytest.fixture
def alarm_centre_operator(home: Municipality, outsider: Municipality):  # type: ignore[no-untyped-def]
    """An external alarm-centre operator serving both municipalities."""
    from accounts.models import Membership, Role

    user = make_user("larmcentral-op", home.tenant, Role.OPERATOR)
    Membership.objects.create(user=user, tenant=outsider.tenant, role=Role.OPERATOR)
    return user


@pytest.fixture
def client() -> SecondFactorClient:
    return SecondFactorClient()


# Headline figures a test measured (``name: value``), printed at the end of the run, so
# `make test` shows them although pytest captures the tests' own output.
HEADLINES = pytest.StashKey[dict[str, object]]()


@pytest.fixture
def headline(request: pytest.FixtureRequest) -> Callable[[str, object], None]:
    figures = request.config.stash.setdefault(HEADLINES, {})

    def report(name: str, value: object) -> None:
        figures[name] = value

    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    figures = config.stash.get(HEADLINES, {})
    if figures:
        terminalreporter.section("headline figures")
        for name, value in figures.items():
            terminalreporter.write_line(f"{name}: {value}")
