"""More than one gateway: cameras served by the gateways of their site, a standby taking
over when a gateway's heartbeat stops, grants signed for the gateway that serves them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras import actions as camera_actions
from cameras import gateway_client, gateways
from cameras.models import Gateway, ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from gateway.grants import GrantError, verify_grant
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, SecondFactorClient, at_stockholm, make_person

pytestmark = pytest.mark.django_db


class StillDriver:
    """The camera's moves are not what these tests are about."""

    def __init__(self, camera: Any) -> None:
        self.camera = camera

    def open_view(self) -> None:
        return None


@pytest.fixture
def prepared(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    monkeypatch.setattr(camera_actions, "driver_for", StillDriver)
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(gateway_client, "prepare", lambda token, url, *, base_url: calls.append((token, base_url)))
    return calls


@pytest.fixture
def night(home: Municipality, fake_clock: FakeClock) -> Check:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    person.camera.site = "nord"
    person.camera.save()
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.filter(person=person).order_by("scheduled_at").first()
    assert check is not None
    return check


def add_gateway(gateway_id: str, site: str = "nord", *, standby: bool = False, seen: Any = None) -> Gateway:
    return Gateway.objects.create(
        gateway_id=gateway_id,
        site=site,
        public_url=f"https://{gateway_id}.example.se",
        internal_url=f"http://{gateway_id}.internal:8010",
        standby=standby,
        last_seen_at=seen,
    )


def heartbeat(client: Client, gateway_id: str, gids: list[str] | None = None) -> Any:
    return client.post(
        "/internal/gateway/revoked",
        data=json.dumps({"gids": gids or [], "gateway": gateway_id}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.GATEWAY_TOKEN}",
    )


def open_check(check: Check, home: Municipality, django_capture_on_commit_callbacks: Any) -> tuple[ViewGrant, str]:
    with django_capture_on_commit_callbacks(execute=True):
        attempt, token = actions.open_check(check, actor=home.user(Role.OPERATOR))
    return attempt.grant, token


def test_it_keeps_the_one_gateway_of_the_settings_without_configuration(
    night: Check, home: Municipality, prepared: list[tuple[str, str]], django_capture_on_commit_callbacks: Any
) -> None:
    grant, token = open_check(night, home, django_capture_on_commit_callbacks)
    assert grant.gateway == "*"
    verify_grant(token, settings.GRANT_KEY.encode(), grant.issued_at.timestamp(), "gw1")
    assert prepared == [(token, settings.GATEWAY_URL)]


def test_it_signs_the_grant_for_the_sites_primary_and_prepares_it_there(
    night: Check,
    home: Municipality,
    fake_clock: FakeClock,
    prepared: list[tuple[str, str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    add_gateway("gw1", seen=fake_clock())
    add_gateway("gw2", standby=True, seen=fake_clock())
    add_gateway("gw9", site="syd", seen=fake_clock())
    grant, token = open_check(night, home, django_capture_on_commit_callbacks)
    assert grant.gateway == "gw1"
    verify_grant(token, settings.GRANT_KEY.encode(), fake_clock().timestamp(), "gw1")
    with pytest.raises(GrantError):
        verify_grant(token, settings.GRANT_KEY.encode(), fake_clock().timestamp(), "gw2")
    assert prepared == [(token, "http://gw1.internal:8010")]
    opened = AuditEntry.objects.get(action=AuditAction.CHECK_OPENED)
    assert opened.detail["gateway"] == "gw1" and "gateway_down" not in opened.detail


def test_a_standby_takes_over_when_the_primary_falls_silent(
    night: Check,
    home: Municipality,
    fake_clock: FakeClock,
    prepared: list[tuple[str, str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    silent_for = timedelta(seconds=settings.GATEWAY_HEARTBEAT_TIMEOUT_S)
    add_gateway("gw1", seen=fake_clock() - silent_for)
    add_gateway("gw2", standby=True, seen=fake_clock())
    grant, token = open_check(night, home, django_capture_on_commit_callbacks)
    assert grant.gateway == "gw2"
    verify_grant(token, settings.GRANT_KEY.encode(), fake_clock().timestamp(), "gw2")
    assert prepared[-1] == (token, "http://gw2.internal:8010")
    opened = AuditEntry.objects.filter(action=AuditAction.CHECK_OPENED).latest("id")
    assert opened.detail["gateway"] == "gw2" and opened.detail["gateway_down"] == "gw1"


def test_it_falls_back_to_another_sites_gateway_and_to_the_first_when_none_is_alive(
    night: Check, home: Municipality, fake_clock: FakeClock
) -> None:
    camera = night.person.camera
    add_gateway("gw1")
    add_gateway("gw2", standby=True)
    add_gateway("gw9", site="syd", seen=fake_clock())
    assert gateways.route_for_camera(camera).gateway_id == "gw9"
    Gateway.objects.filter(gateway_id="gw9").update(last_seen_at=None)
    route = gateways.route_for_camera(camera)
    assert (route.gateway_id, route.public_url, route.preferred) == ("gw1", "https://gw1.example.se", "")
    camera.site = ""
    Gateway.objects.filter(gateway_id="gw2").update(last_seen_at=fake_clock())
    assert gateways.route_for_camera(camera).gateway_id == "gw2"  # no site: any gateway alive


def test_the_revocation_poll_is_the_heartbeat(client: Client, fake_clock: FakeClock) -> None:
    add_gateway("gw1")
    response = heartbeat(client, "gw1")
    assert response.status_code == 200 and response.json() == {"revoked": []}
    assert Gateway.objects.get(gateway_id="gw1").last_seen_at == fake_clock()
    assert heartbeat(client, "unknown").status_code == 200  # not listed: not created either
    assert not Gateway.objects.filter(gateway_id="unknown").exists()


def test_a_lost_gateway_reported_by_a_browser_is_checked_before_it_counts(
    monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock
) -> None:
    add_gateway("gw1", seen=fake_clock())

    def unreachable(url: str, timeout: float) -> Any:
        raise ConnectionRefusedError(url)

    monkeypatch.setattr(gateways.urllib.request, "urlopen", unreachable)
    assert gateways.check_reported_loss("gw1") is True
    assert Gateway.objects.get(gateway_id="gw1").last_seen_at is None

    class Answer:
        status = 200

        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    Gateway.objects.filter(gateway_id="gw1").update(last_seen_at=fake_clock())
    monkeypatch.setattr(gateways.urllib.request, "urlopen", lambda url, timeout: Answer())
    assert gateways.check_reported_loss("gw1") is False
    assert Gateway.objects.get(gateway_id="gw1").last_seen_at is not None


def test_the_check_page_sends_the_offer_to_the_grants_gateway_and_can_reopen_after_a_loss(
    night: Check,
    home: Municipality,
    fake_clock: FakeClock,
    prepared: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_gateway("gw1", seen=fake_clock())
    add_gateway("gw2", standby=True, seen=fake_clock())
    client = SecondFactorClient()
    client.force_login(home.user(Role.OPERATOR))
    response = client.post(f"/console/checks/{night.id}/open", follow=True)
    page = response.content.decode()
    assert 'data-gateway="https://gw1.example.se"' in page and 'data-gateway-id="gw1"' in page
    assert "connect-src 'self' https://gw1.example.se;" in response["Content-Security-Policy"]
    assert 'id="reopen-form" hidden' in page  # shown by the page once its view ends
    # gw1 is killed; the page names it when the operator opens again at once.
    monkeypatch.setattr(gateways.urllib.request, "urlopen", lambda url, timeout: (_ for _ in ()).throw(OSError()))
    response = client.post(f"/console/checks/{night.id}/open", {"lost_gateway": "gw1"}, follow=True)
    assert 'data-gateway-id="gw2"' in response.content.decode()
    assert night.attempts.count() == 2
    assert list(ViewGrant.objects.order_by("id").values_list("gateway", flat=True)) == ["gw1", "gw2"]


def test_the_worker_readies_the_camera_again_on_the_standby_when_the_primary_dies(
    night: Check,
    home: Municipality,
    fake_clock: FakeClock,
    prepared: list[tuple[str, str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    add_gateway("gw1", seen=fake_clock())
    add_gateway("gw2", standby=True, seen=fake_clock())
    client = SecondFactorClient()
    client.force_login(home.user(Role.OPERATOR))
    client.get("/console/")  # a console is open: the due camera is readied

    def tick() -> list[str]:
        with django_capture_on_commit_callbacks(execute=True):
            NightWorker("t").tick(fake_clock())
        return [url for _token, url in prepared]

    assert tick() == ["http://gw1.internal:8010"]
    assert tick() == ["http://gw1.internal:8010"]  # held there, not asked again
    fake_clock.advance(seconds=settings.GATEWAY_HEARTBEAT_TIMEOUT_S)
    Gateway.objects.filter(gateway_id="gw2").update(last_seen_at=fake_clock())
    client.get("/console/")
    assert tick()[-1] == "http://gw2.internal:8010"

    def live() -> list[str]:
        return sorted(
            ViewGrant.objects.filter(purpose="prepare", revoked_at__isnull=True).values_list("gateway", flat=True)
        )

    assert live() == ["gw1", "gw2"]  # never uncovered in between
    assert len(tick()) == 2  # the dead one's preparation ends at the next tick; nothing asked again
    assert live() == ["gw2"]
