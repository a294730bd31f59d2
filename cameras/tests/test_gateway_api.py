"""The control plane's side of the grant protocol: redeem once, refuse what the rules
forbid, list revocations, and audit every view with its real duration."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.models import ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check, Outcome
from gateway.grants import verify_grant
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person, show_picture
from people.actions import end_decision, withdraw_consent

pytestmark = pytest.mark.django_db


def gateway_post(client: Client, path: str, body: dict, token: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token or settings.GATEWAY_TOKEN}",
    )


@pytest.fixture
def opened(home: Municipality, fake_clock: FakeClock):  # type: ignore[no-untyped-def]
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.filter(person=person).order_by("scheduled_at").first()
    attempt, token = actions.open_check(check, actor=home.user(Role.OPERATOR))
    grant = verify_grant(token, settings.GRANT_KEY.encode(), now=fake_clock().timestamp())
    return person, attempt, grant


def test_it_refuses_calls_without_the_gateway_token(client: Client, opened) -> None:
    _person, _attempt, grant = opened
    response = gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid}, token="wrong")
    assert response.status_code == 401
    assert ViewGrant.objects.get(gid=grant.gid).redeemed_at is None


def test_it_redeems_a_grant_once(client: Client, opened) -> None:
    _person, _attempt, grant = opened
    first = gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid, "gateway": "gw1"})
    assert first.status_code == 200
    assert first.json()["rtsp_url"] == "rtsp://demo:demo@127.0.0.1:8554/cam1"
    second = gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid, "gateway": "gw1"})
    assert second.status_code == 409


def test_the_grant_binds_operator_person_camera_and_check(opened, home: Municipality) -> None:
    person, attempt, grant = opened
    assert grant.operator == home.user(Role.OPERATOR).id
    assert grant.person == person.id
    assert grant.camera == person.camera.id
    assert grant.check == attempt.night_check_id
    assert grant.max_view_s == 30
    assert grant.hard_end <= attempt.night_check.window_ends_at.timestamp()


def test_it_refuses_to_redeem_after_consent_is_withdrawn(client: Client, opened, home: Municipality) -> None:
    person, _attempt, grant = opened
    withdraw_consent(person.consents.get(), actor=home.user(Role.PLANNER))
    response = gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.GRANT_REVOKED, person=person).exists()


def test_a_running_view_is_on_the_revocation_list_once_consent_is_withdrawn(
    client: Client, opened, home: Municipality
) -> None:
    person, _attempt, grant = opened
    assert gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid}).status_code == 200
    listed = gateway_post(client, "/internal/gateway/revoked", {"gids": [grant.gid]}).json()
    assert listed["revoked"] == []
    withdraw_consent(person.consents.get(), actor=home.user(Role.PLANNER))
    listed = gateway_post(client, "/internal/gateway/revoked", {"gids": [grant.gid]}).json()
    assert listed["revoked"] == [grant.gid]


def test_ending_the_decision_revokes_a_running_view(
    client: Client, opened, home: Municipality, fake_clock: FakeClock
) -> None:
    person, _attempt, grant = opened
    gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid})
    yesterday = (fake_clock() - timedelta(days=1)).date()
    end_decision(person.decisions.get(), actor=home.user(Role.CASE_OFFICER), valid_to=yesterday)
    assert gateway_post(client, "/internal/gateway/revoked", {"gids": [grant.gid]}).json()["revoked"] == [grant.gid]


def test_recording_the_outcome_revokes_the_view(client: Client, opened, home: Municipality) -> None:
    _person, attempt, grant = opened
    gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid})
    show_picture(attempt)
    actions.record_outcome(attempt, actor=home.user(Role.OPERATOR), outcome=Outcome.SEEN_OK)
    assert gateway_post(client, "/internal/gateway/revoked", {"gids": [grant.gid]}).json()["revoked"] == [grant.gid]


def test_an_expired_grant_cannot_be_redeemed(client: Client, opened, fake_clock: FakeClock) -> None:
    _person, _attempt, grant = opened
    fake_clock.advance(seconds=settings.GRANT_START_WINDOW_S + 1)
    assert gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid}).status_code == 403


def test_unknown_and_malformed_grants_are_refused(client: Client, db: None) -> None:
    assert gateway_post(client, "/internal/gateway/redeem", {"gid": "not-a-uuid"}).status_code == 404
    assert (
        gateway_post(client, "/internal/gateway/redeem", {"gid": "00000000-0000-0000-0000-000000000000"}).status_code
        == 404
    )
    assert gateway_post(client, "/internal/gateway/redeem", {}).status_code == 400
    bad_json = client.post(
        "/internal/gateway/redeem",
        data="{",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.GATEWAY_TOKEN}",
    )
    assert bad_json.status_code == 400
    assert gateway_post(client, "/internal/gateway/revoked", {"gids": "x"}).status_code == 400
    unknown = gateway_post(
        client, "/internal/gateway/revoked", {"gids": ["00000000-0000-0000-0000-000000000000"]}
    ).json()
    assert unknown["revoked"] == ["00000000-0000-0000-0000-000000000000"]  # unknown means stop


def test_the_end_of_a_view_is_audited_once_with_its_real_duration(
    client: Client, opened, fake_clock: FakeClock
) -> None:
    person, _attempt, grant = opened
    gateway_post(client, "/internal/gateway/redeem", {"gid": grant.gid})
    start = fake_clock().timestamp()
    for event, at in [("started", start), ("first_frame", start + 0.3), ("ended", start + 24.3), ("ended", start + 99)]:
        response = gateway_post(
            client,
            "/internal/gateway/events",
            {
                "gid": grant.gid,
                "session": "s1",
                "event": event,
                "at": at,
                "reason": "viewer_closed",
                "bytes_sent": 1234567,
                "transcoded": False,
            },
        )
        assert response.status_code == 200
    views = AuditEntry.objects.filter(action=AuditAction.CAMERA_VIEW, person=person)
    assert views.count() == 1
    assert views.get().duration_s == pytest.approx(24.0)
    assert views.get().detail["bytes_sent"] == 1234567


def test_bad_events_are_refused(client: Client, opened) -> None:
    _person, _attempt, grant = opened
    assert gateway_post(client, "/internal/gateway/events", {"gid": grant.gid, "event": "boom"}).status_code == 400
    assert (
        gateway_post(client, "/internal/gateway/events", {"gid": grant.gid, "event": "ended", "at": "soon"}).status_code
        == 400
    )


def test_the_health_probe_turns_a_camera_found_facing_the_bed_back(
    home: Municipality, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cameras import health
    from cameras.drivers import CameraStatus

    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    closed: list[int] = []

    class OutOfPrivacy:
        def __init__(self, camera):  # type: ignore[no-untyped-def]
            self.camera = camera

        def status(self) -> CameraStatus:
            return CameraStatus(reachable=False, in_privacy_position=False, problem="unreachable")

        def close_view(self) -> None:
            closed.append(self.camera.id)

    monkeypatch.setattr(health, "driver_for", OutOfPrivacy)
    result = health.probe_camera(person.camera)
    assert closed == [person.camera.id]
    assert result.in_privacy_position is True
    assert AuditEntry.objects.filter(action=AuditAction.CAMERA_FAULT, detail__restored=True).count() == 1
