"""Cameras readied before the click: only for due checks, only while a console is open,
never past the window, and back to privacy once nothing covers them."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras import actions as camera_actions
from cameras.models import GrantPurpose, ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check, CheckState, Outcome
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person, show_picture

pytestmark = pytest.mark.django_db


@pytest.fixture
def moves(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """What the cameras were told (the simulated driver's calls), in order."""
    told: list[tuple[int, str]] = []

    class Driver:
        def __init__(self, camera) -> None:  # type: ignore[no-untyped-def]
            self.camera = camera

        def open_view(self) -> None:
            told.append((self.camera.id, "view"))

        def close_view(self) -> None:
            told.append((self.camera.id, "privacy"))

    monkeypatch.setattr(camera_actions, "driver_for", Driver)
    monkeypatch.setattr(camera_actions.gateway_client, "prepare", lambda token, url, **where: None)
    return told


@pytest.fixture
def tick(django_capture_on_commit_callbacks, fake_clock: FakeClock):  # type: ignore[no-untyped-def]
    """One worker tick, with what it starts on commit (camera moves, gateway calls)."""
    worker = NightWorker("t")

    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            worker.tick(fake_clock())

    return run


def preparations(now) -> list[ViewGrant]:  # type: ignore[no-untyped-def]
    return list(camera_actions.covering_grants(now).filter(purpose=GrantPurpose.PREPARE))


def test_it_readies_the_first_due_cameras_only_while_a_console_is_open(
    home: Municipality, fake_clock: FakeClock, client: Client, moves: list[tuple[int, str]], tick
) -> None:  # type: ignore[no-untyped-def]
    persons = [
        make_person(home, f"P{index}", personnummer=number, times=[time(23, 0)])
        for index, number in enumerate(TEST_PERSONNUMMER[:6])
    ]
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    tick()
    assert preparations(fake_clock()) == []  # nobody at a console: no camera leaves privacy
    client.force_login(home.user(Role.OPERATOR))
    client.get("/console/")
    tick()
    prepared = preparations(fake_clock())
    assert len(prepared) == settings.PREPARE_AHEAD < len(persons)
    assert all(grant.hard_end <= fake_clock() + actions.PREPARATION_LEASE for grant in prepared)
    assert AuditEntry.objects.filter(action=AuditAction.CAMERA_PREPARED).count() == settings.PREPARE_AHEAD
    assert sorted(camera for camera, move in moves if move == "view") == sorted(g.camera_id for g in prepared)
    # A preparation is never a view: the gateway's redeem refuses it.
    assert camera_actions.redeem_grant(str(prepared[0].gid), gateway="gw")[1] == "not_viewable"

    # The console closes: the preparations end and the cameras go back to privacy.
    fake_clock.advance(seconds=actions.CONSOLE_PRESENT.total_seconds() + 1)
    tick()
    assert preparations(fake_clock()) == []
    assert sorted(camera for camera, move in moves if move == "privacy") == sorted(g.camera_id for g in prepared)


def test_an_opened_check_keeps_its_camera_and_a_retry_returns_it_to_privacy(
    home: Municipality, fake_clock: FakeClock, client: Client, moves: list[tuple[int, str]], tick
) -> None:  # type: ignore[no-untyped-def]
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    client.force_login(home.user(Role.OPERATOR))
    client.get("/console/")
    tick()
    assert len(preparations(fake_clock())) == 1
    check = Check.objects.get(person=person, state=CheckState.DUE)
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(check, actor=operator)
    tick()
    assert preparations(fake_clock()) == []  # the operator's own grant covers the camera now
    assert (person.camera.id, "privacy") not in moves
    show_picture(attempt)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.NOT_VISIBLE)
    client.get("/console/")
    tick()
    assert moves[-1] == (person.camera.id, "privacy")  # waiting for the retry: nobody may look
    fake_clock.advance(minutes=15)
    client.get("/console/")
    tick()
    check.refresh_from_db()
    assert check.state == CheckState.DUE and len(preparations(fake_clock())) == 1


def test_a_preparation_ends_with_the_check_window(
    home: Municipality, fake_clock: FakeClock, client: Client, moves: list[tuple[int, str]], tick
) -> None:  # type: ignore[no-untyped-def]
    make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    home.tenant.check_window_min = 3
    home.tenant.save()
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    client.force_login(home.user(Role.OPERATOR))
    client.get("/console/")
    tick()
    (grant,) = preparations(fake_clock())
    assert grant.hard_end == at_stockholm(2026, 11, 23, 23, 3)
    fake_clock.set(grant.hard_end + timedelta(seconds=1))
    client.get("/console/")
    tick()
    assert preparations(fake_clock()) == [] and moves[-1][1] == "privacy"
