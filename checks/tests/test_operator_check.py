"""The operator's check as the operator does it: "seen" only after seeing, reopening at
once, who has a check, a released check, retries that wait their agreed delay."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.test import Client

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.actions import record_view_event
from cameras.models import ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Attempt, Check, CheckState, Outcome
from nattillsyn.clock import FakeClock
from nattillsyn.errors import ActionRefused
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person, make_user, show_picture

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_check(home: Municipality, fake_clock: FakeClock) -> Check:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)], retry_delay_min=5)
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    return Check.objects.get(person=person, state=CheckState.DUE)


def refusals(action: str, reason: str) -> int:
    return sum(1 for entry in AuditEntry.objects.filter(action=action) if entry.detail.get("reason") == reason)


def test_it_refuses_seen_before_any_frame_reached_the_browser(due_check: Check, home: Municipality) -> None:
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(due_check, actor=operator)
    for outcome in (Outcome.SEEN_OK, Outcome.NOT_VISIBLE):
        with pytest.raises(ActionRefused):
            actions.record_outcome(attempt, actor=operator, outcome=outcome)
    assert refusals(AuditAction.OUTCOME_REFUSED, "no_picture") == 2
    attempt.refresh_from_db()
    assert attempt.outcome == ""
    due_check.refresh_from_db()
    assert due_check.state == CheckState.IN_PROGRESS


def test_it_refuses_seen_after_a_look_shorter_than_the_municipality_sets(
    due_check: Check, home: Municipality, fake_clock: FakeClock
) -> None:
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(due_check, actor=operator)
    show_picture(attempt, seconds=1)
    with pytest.raises(ActionRefused, match=" 2 "):
        actions.record_outcome(attempt, actor=operator, outcome=Outcome.SEEN_OK)
    assert refusals(AuditAction.OUTCOME_REFUSED, "view_too_short") == 1
    fake_clock.advance(seconds=1)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.SEEN_OK)
    due_check.refresh_from_db()
    assert due_check.state == CheckState.DONE


def test_a_view_that_ended_counts_only_the_time_it_was_live(
    due_check: Check, home: Municipality, fake_clock: FakeClock
) -> None:
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(due_check, actor=operator)
    grant = ViewGrant.objects.get(attempt=attempt)
    record_view_event(str(grant.gid), event="first_frame", at=fake_clock())
    record_view_event(str(grant.gid), event="ended", at=fake_clock() + timedelta(seconds=1), reason="viewer_closed")
    fake_clock.advance(seconds=20)
    with pytest.raises(ActionRefused):
        actions.record_outcome(attempt, actor=operator, outcome=Outcome.SEEN_OK)


def test_needs_help_and_no_picture_are_possible_without_a_picture(due_check: Check, home: Municipality) -> None:
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(due_check, actor=operator)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.TECHNICAL_FAULT)
    due_check.refresh_from_db()
    assert due_check.state == CheckState.ESCALATED


def test_the_same_operator_reopens_at_once_with_a_new_grant(
    due_check: Check, home: Municipality, fake_clock: FakeClock
) -> None:
    operator = home.user(Role.OPERATOR)
    first, _ = actions.open_check(due_check, actor=operator)
    fake_clock.advance(seconds=10)  # the tab was closed, or the browser crashed
    second, token = actions.open_check(due_check, actor=operator)
    assert second.pk != first.pk and token
    assert ViewGrant.objects.get(attempt=first).revoked_at is not None
    assert ViewGrant.objects.get(attempt=second).revoked_at is None
    opened = AuditEntry.objects.filter(action=AuditAction.CHECK_OPENED).order_by("-id").first()
    assert opened is not None and opened.detail["reopened_attempt"] == first.pk
    # The superseded attempt cannot record an outcome over the new one.
    show_picture(second)
    actions.record_outcome(second, actor=operator, outcome=Outcome.SEEN_OK)
    with pytest.raises(ActionRefused):
        actions.record_outcome(first, actor=operator, outcome=Outcome.SEEN_OK)


def test_a_colleague_is_told_who_has_the_check_and_since_when(due_check: Check, home: Municipality) -> None:
    operator = home.user(Role.OPERATOR)
    operator.first_name, operator.last_name = "Anna", "Andersson"
    operator.save()
    actions.open_check(due_check, actor=operator)
    colleague = make_user("kollega", home.tenant, Role.OPERATOR)
    with pytest.raises(ActionRefused, match="Anna Andersson.*23:00"):
        actions.open_check(due_check, actor=colleague)
    assert refusals(AuditAction.GRANT_REFUSED, "held_by_other") == 1
    assert Attempt.objects.filter(night_check=due_check).count() == 1


def test_the_console_row_shows_who_has_the_check(due_check: Check, home: Municipality, client: Client) -> None:
    actions.open_check(due_check, actor=home.user(Role.OPERATOR))
    colleague = make_user("kollega", home.tenant, Role.OPERATOR)
    client.force_login(colleague)
    page = client.get("/console/").content.decode()
    assert 'data-testid="held-by"' in page and f"{home.tenant.slug}-operator" in page
    assert 'data-testid="open-check"' not in page
    client.force_login(home.user(Role.OPERATOR))
    assert "open-check" in client.get("/console/").content.decode()  # "open again" for its holder


def test_a_check_nobody_views_is_released_within_a_minute(
    due_check: Check, home: Municipality, fake_clock: FakeClock
) -> None:
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(due_check, actor=operator)
    grant = ViewGrant.objects.get(attempt=attempt)
    ViewGrant.objects.filter(pk=grant.pk).update(redeemed_at=fake_clock())
    record_view_event(str(grant.gid), event="first_frame", at=fake_clock())
    fake_clock.advance(seconds=5)
    record_view_event(str(grant.gid), event="ended", at=fake_clock(), reason="viewer_deleted")  # tab closed
    fake_clock.advance(seconds=29)
    NightWorker("t").tick(fake_clock())
    due_check.refresh_from_db()
    assert due_check.state == CheckState.IN_PROGRESS  # still the operator's, to record what they saw
    fake_clock.advance(seconds=2)
    NightWorker("t").tick(fake_clock())
    due_check.refresh_from_db()
    assert due_check.state == CheckState.DUE
    assert AuditEntry.objects.filter(action=AuditAction.CHECK_RELEASED).count() == 1
    colleague = make_user("kollega", home.tenant, Role.OPERATOR)
    actions.open_check(due_check, actor=colleague)


def test_a_retry_waits_its_whole_agreed_delay(due_check: Check, home: Municipality, fake_clock: FakeClock) -> None:
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(due_check, actor=operator)
    show_picture(attempt)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.NOT_VISIBLE)
    due_check.refresh_from_db()
    assert due_check.next_attempt_at == fake_clock() + timedelta(minutes=5)
    not_visible_at = fake_clock()
    for seconds in (0, 60, 299):  # the 5-minute early opening of first attempts does not apply
        fake_clock.set(not_visible_at + timedelta(seconds=seconds))
        with pytest.raises(ActionRefused):
            actions.open_check(due_check, actor=operator)
    assert refusals(AuditAction.GRANT_REFUSED, "retry_not_yet_due") == 3
    fake_clock.set(due_check.next_attempt_at)
    actions.open_check(due_check, actor=operator)


def test_round_mode_opens_the_next_due_check_after_an_outcome(
    home: Municipality, fake_clock: FakeClock, client: Client
) -> None:
    for index, number in enumerate(TEST_PERSONNUMMER[:2]):
        make_person(home, f"P{index}", personnummer=number, times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    operator = home.user(Role.OPERATOR)
    client.force_login(operator)
    assert client.post("/console/round-mode", {"on": "1"}).status_code == 302
    first, second = Check.objects.filter(state=CheckState.DUE).order_by("person__name")
    attempt, _ = actions.open_check(first, actor=operator)
    show_picture(attempt)
    response = client.post(f"/console/attempts/{attempt.id}/outcome", {"outcome": Outcome.SEEN_OK})
    opened = Attempt.objects.get(night_check=second)
    assert response.status_code == 302 and response["Location"] == f"/console/attempts/{opened.id}/"
    client.post("/console/round-mode", {"on": "0"})
    show_picture(opened)
    response = client.post(f"/console/attempts/{opened.id}/outcome", {"outcome": Outcome.SEEN_OK})
    assert response["Location"] == "/console/"


def test_an_outcome_refused_keeps_the_operator_on_the_check_with_the_reason(
    due_check: Check, home: Municipality, client: Client
) -> None:
    operator = home.user(Role.OPERATOR)
    attempt, _ = actions.open_check(due_check, actor=operator)
    client.force_login(operator)
    response = client.post(f"/console/attempts/{attempt.id}/outcome", {"outcome": Outcome.SEEN_OK}, follow=True)
    assert response.redirect_chain[-1][0] == f"/console/attempts/{attempt.id}/"
    assert "Ingen bild har nått din skärm" in response.content.decode()
    for junk in ("", "seen", "<script>"):  # bad input: a Swedish message, never a 500
        assert client.post(f"/console/attempts/{attempt.id}/outcome", {"outcome": junk}).status_code == 302
