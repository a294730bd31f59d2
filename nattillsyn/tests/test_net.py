"""The client's address (nattillsyn/net.py) and the municipality's camera networks
enforced with it, tried the ways an attacker would: a forged X-Forwarded-For, IPv6,
IPv4 mapped into IPv6, a page reloaded from elsewhere, ranges narrowed before redeem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from accounts.models import Role, Tenant, TotpDevice
from audit.models import AuditAction, AuditEntry
from cameras.actions import book_installation, record_installation_consent
from cameras.models import Camera, ViewGrant
from checks.engine import NightWorker
from checks.models import Check
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.crypto import encrypt
from nattillsyn.net import client_ip, normalise_ip
from nattillsyn.testing import (
    TEST_PERSONNUMMER,
    TEST_TOTP_SECRET,
    Municipality,
    at_stockholm,
    make_person,
    make_training_camera,
)

OFFICE = "10.20.0.0/16\n2001:db8:20::/48\n"
INSIDE, OUTSIDE = "10.20.3.4", "198.51.100.7"


def request_from(remote_addr: str, forwarded_for: str | None = None):  # type: ignore[no-untyped-def]
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


# -- the helper ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "expected"),
    [
        (OUTSIDE, None, OUTSIDE),
        (OUTSIDE, INSIDE, OUTSIDE),  # no trusted proxy: the header is the client's own claim
        ("::ffff:10.20.3.4", None, INSIDE),  # a dual-stack socket's IPv4 client
        ("2001:DB8:20::9", None, "2001:db8:20::9"),
        ("fe80::1%eth0", None, "fe80::1"),
        ("not an address", INSIDE, None),
        ("", None, None),
    ],
)
def test_without_a_trusted_proxy_the_client_is_the_socket_peer(
    settings: LazySettings, remote_addr: str, forwarded_for: str | None, expected: str | None
) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from(remote_addr, forwarded_for)) == expected


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (1, OUTSIDE, OUTSIDE),
        (1, f"{INSIDE}, {OUTSIDE}", OUTSIDE),  # the client wrote INSIDE, the proxy appended its real address
        (1, f"{INSIDE},{INSIDE}, {OUTSIDE}", OUTSIDE),
        (1, f"{OUTSIDE}, {INSIDE}", INSIDE),
        (1, "::ffff:10.20.3.4", INSIDE),
        (2, f"{INSIDE}, {OUTSIDE}, 192.0.2.1", OUTSIDE),
        (2, OUTSIDE, None),  # fewer hops than proxies: not through them, fail closed
        (1, None, None),
        (1, "", None),
        (1, f"{INSIDE}, evil", None),
        (1, f"{INSIDE}, ", None),
    ],
)
def test_behind_trusted_proxies_only_their_entries_count(
    settings: LazySettings, proxies: int, forwarded_for: str | None, expected: str | None
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(request_from("127.0.0.1", forwarded_for)) == expected


def test_a_mapped_address_is_stored_as_plain_ipv4() -> None:
    assert normalise_ip("::ffff:198.51.100.7") == OUTSIDE and normalise_ip(" 10.0.0.1 ") == "10.0.0.1"


@pytest.mark.parametrize("value", ["-1", "6", "two"])
def test_a_wrong_proxy_count_stops_the_process(value: str) -> None:
    env = {**os.environ, "TRUSTED_PROXY_COUNT": value}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parents[2],
        env={**env, "DJANGO_SETTINGS_MODULE": "nattillsyn.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "TRUSTED_PROXY_COUNT" in result.stderr


# -- camera networks, over HTTP -------------------------------------------------------------------


@pytest.fixture
def office_only(home: Municipality, fake_clock: FakeClock) -> Check:
    """A due camera check in a municipality that allows cameras only from its office."""
    person = make_person(home, "Nätet", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    Tenant.objects.filter(id=home.tenant.id).update(camera_networks=OFFICE)
    return Check.objects.get(person=person, state="due")


@pytest.fixture
def operator(client: Client, home: Municipality) -> Client:
    client.force_login(home.user(Role.OPERATOR))
    return client


def refusals(ip: str | None = None) -> list[AuditEntry]:
    entries = AuditEntry.objects.filter(action=AuditAction.GRANT_REFUSED, detail__reason="network_not_allowed")
    return list(entries.filter(ip=ip) if ip else entries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("remote_addr", "granted"),
    [
        (INSIDE, True),
        ("::ffff:10.20.3.4", True),
        ("2001:db8:20::9", True),
        (OUTSIDE, False),
        ("::ffff:198.51.100.7", False),
        ("2001:db8:21::9", False),
        ("::10.20.3.4", False),  # IPv4-compatible, not mapped: another address
    ],
)
def test_a_check_opens_only_from_inside_the_ranges(
    operator: Client, office_only: Check, remote_addr: str, granted: bool
) -> None:
    response = operator.post(f"/console/checks/{office_only.id}/open", REMOTE_ADDR=remote_addr)
    assert response.status_code == 302
    assert ViewGrant.objects.exists() is granted
    assert len(refusals()) == (0 if granted else 1)
    if not granted:
        page = operator.get(response["Location"]).content.decode()
        assert "kan bara öppnas från kommunens egna nätverk" in page  # Swedish, the users' language
    else:
        opened = AuditEntry.objects.get(action=AuditAction.CHECK_OPENED)
        assert opened.ip == normalise_ip(remote_addr)


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED", "HTTP_CLIENT_IP"])
def test_a_forged_header_does_not_bring_an_outside_request_inside(
    operator: Client, office_only: Check, header: str
) -> None:
    value = f"for={INSIDE}" if header == "HTTP_FORWARDED" else INSIDE
    operator.post(f"/console/checks/{office_only.id}/open", REMOTE_ADDR=OUTSIDE, **{header: value})
    assert not ViewGrant.objects.exists() and refusals(OUTSIDE)


@pytest.mark.django_db
def test_behind_one_proxy_the_entry_it_appended_decides(
    settings: LazySettings, operator: Client, office_only: Check
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    url = f"/console/checks/{office_only.id}/open"
    operator.post(url, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{INSIDE}, {OUTSIDE}")
    assert not ViewGrant.objects.exists() and refusals(OUTSIDE)
    operator.post(url, REMOTE_ADDR="127.0.0.1")  # straight to the web process, past the proxy
    assert not ViewGrant.objects.exists() and len(refusals()) == 2
    operator.post(url, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{OUTSIDE}, {INSIDE}")
    assert ViewGrant.objects.get().attempt.night_check_id == office_only.id


@pytest.mark.django_db
def test_training_and_installation_views_from_outside_are_refused(
    operator: Client, home: Municipality, office_only: Check
) -> None:
    training = make_training_camera(home)
    operator.post(f"/console/training/{training.id}/open", REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR=INSIDE)
    installed = Camera.objects.get(person=office_only.person)
    booking = book_installation(
        installed,
        actor=home.user(Role.INSTALLER),
        starts_at=clock.now() - timedelta(minutes=5),
        ends_at=clock.now() + timedelta(hours=1),
        kind="installation",
    )
    record_installation_consent(booking, actor=home.user(Role.PLANNER), given_by="Nätet", method="oral")
    operator.post(f"/cameras/{installed.id}/installation-view", REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR=INSIDE)
    assert not ViewGrant.objects.exists() and len(refusals(OUTSIDE)) == 2
    operator.post(f"/console/training/{training.id}/open", REMOTE_ADDR="::ffff:10.20.9.9")
    assert ViewGrant.objects.get().camera_id == training.id


@pytest.mark.django_db
def test_the_live_view_page_hands_the_token_only_inside(operator: Client, office_only: Check) -> None:
    opened = operator.post(f"/console/checks/{office_only.id}/open", REMOTE_ADDR=INSIDE)
    page = operator.get(opened["Location"], REMOTE_ADDR=INSIDE).content.decode()
    assert 'data-token="v1.' in page
    # The same session, from elsewhere (a laptop taken home, or a stolen cookie).
    page = operator.get(opened["Location"], REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR=INSIDE).content.decode()
    assert 'data-token="v1.' not in page and "egna nätverk" in page
    assert refusals(OUTSIDE)[0].object_type == "ViewGrant"


def gateway_redeem(client: Client, gid: str):  # type: ignore[no-untyped-def]
    from django.conf import settings

    return client.post(
        "/internal/gateway/redeem",
        data=json.dumps({"gid": gid, "gateway": "gw1"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.GATEWAY_TOKEN}",
    )


@pytest.mark.django_db
def test_redeem_binds_the_grant_to_the_address_it_was_issued_to(
    operator: Client, home: Municipality, office_only: Check
) -> None:
    operator.post(f"/console/checks/{office_only.id}/open", REMOTE_ADDR=INSIDE)
    grant = ViewGrant.objects.get()
    # The municipality narrows its ranges between the click and the gateway's redeem.
    Tenant.objects.filter(id=home.tenant.id).update(camera_networks="10.99.0.0/16")
    response = gateway_redeem(Client(), str(grant.gid))
    assert response.status_code == 403 and response.json() == {"error": "network_not_allowed"}
    assert refusals(INSIDE)[0].detail["gateway"] == "gw1"
    grant.refresh_from_db()
    assert grant.redeemed_at is None


@pytest.mark.django_db
def test_redeem_inside_the_ranges_is_granted(operator: Client, office_only: Check) -> None:
    operator.post(f"/console/checks/{office_only.id}/open", REMOTE_ADDR="2001:db8:20::9")
    assert gateway_redeem(Client(), str(ViewGrant.objects.get().gid)).status_code == 200


# -- editing the ranges ---------------------------------------------------------------------------


@pytest.fixture
def platform_admin(client: Client, home: Municipality) -> Client:
    user = get_user_model().objects.create_superuser("plattform", password="x")
    TotpDevice.objects.create(user=user, secret_encrypted=encrypt(TEST_TOTP_SECRET), confirmed_at=clock.now())
    client.force_login(user)
    return client


def tenant_form(tenant: Tenant, camera_networks: str) -> dict[str, object]:
    return {
        "name": tenant.name,
        "slug": tenant.slug,
        "overdue_grace_min": tenant.overdue_grace_min,
        "escalation_ack_min": tenant.escalation_ack_min,
        "check_window_min": tenant.check_window_min,
        "view_seconds": tenant.view_seconds,
        "min_view_s": tenant.min_view_s,
        "camera_networks": camera_networks,
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["10.20.0.0/33", "kontoret", "10.20.0.0/16, 10.30.0.0/16", "2001:db8::/129"])
def test_the_admin_refuses_a_bad_range_with_a_clear_error(platform_admin: Client, home: Municipality, bad: str) -> None:
    url = f"/admin/accounts/tenant/{home.tenant.id}/change/"
    response = platform_admin.post(url, tenant_form(home.tenant, f"10.0.0.0/8\n{bad}\n"))
    assert response.status_code == 200
    assert "line 2" in response.content.decode()  # names the line that is wrong
    assert Tenant.objects.get(id=home.tenant.id).camera_networks == ""


@pytest.mark.django_db
def test_the_admin_saves_good_ranges(platform_admin: Client, home: Municipality) -> None:
    url = f"/admin/accounts/tenant/{home.tenant.id}/change/"
    response = platform_admin.post(url, tenant_form(home.tenant, OFFICE + "# the night office\n"))
    assert response.status_code == 302
    assert Tenant.objects.get(id=home.tenant.id).camera_networks.startswith("10.20.0.0/16")
