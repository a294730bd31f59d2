"""A blurred view by the person's choice: the redeem tells the gateway to blur; only the
operator who is looking may switch to the clear picture, with a reason, audited and in
the person's letter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts.models import Membership, Role
from audit.models import AuditAction, AuditEntry
from cameras import gateway_client
from cameras.actions import record_view_event
from cameras.models import ClearPictureReason, ViewGrant
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from letters.actions import produce_letter
from letters.content import month_letters
from letters.tests.test_letters import pdf_text
from nattillsyn.clock import FakeClock
from nattillsyn.codes import describe
from nattillsyn.testing import (
    TEST_PERSONNUMMER,
    Municipality,
    SecondFactorClient,
    at_stockholm,
    make_person,
    make_user,
)
from nattillsyn.tests.test_no_raw_codes import RAW
from people.actions import register_consent
from people.models import Consent, ConsentMethod

pytestmark = pytest.mark.django_db


def redeem(gid: str) -> dict[str, Any]:
    response = Client().post(
        "/internal/gateway/redeem",
        data=json.dumps({"gid": gid, "gateway": "gw1"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.GATEWAY_TOKEN}",
    )
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def open_view(home: Municipality, fake_clock: FakeClock, *, blurred: bool) -> ViewGrant:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    if blurred:  # consent again, now on condition of a blurred picture
        register_consent(
            person,
            actor=home.user(Role.PLANNER),
            given_by="Astrid",
            method=ConsentMethod.WRITTEN,
            given_at=person.consents.get().given_at,
            valid_until=None,
            blurred=True,
        )
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.filter(person=person).order_by("scheduled_at").first()
    attempt, _token = actions.open_check(check, actor=home.user(Role.OPERATOR))
    return attempt.grant


@pytest.fixture
def unblurred(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(gateway_client, "unblur", lambda gid, **where: calls.append(gid))
    return calls


def operator_client(user: Any) -> SecondFactorClient:
    client = SecondFactorClient()
    client.force_login(user)
    return client


def ask_clear(client: Client, grant: ViewGrant, reason: str) -> Any:
    return client.post(f"/console/views/{grant.gid}/clear", {"reason": reason})


def test_the_consent_records_the_wish_and_the_redeem_tells_the_gateway(
    home: Municipality, fake_clock: FakeClock
) -> None:
    grant = open_view(home, fake_clock, blurred=True)
    assert Consent.objects.filter(person=grant.person, blurred=True).exists()
    given = AuditEntry.objects.filter(action=AuditAction.CONSENT_GIVEN, person=grant.person).order_by("id").last()
    assert given is not None and given.detail["blurred"] is True
    assert redeem(str(grant.gid))["blur"] is True
    assert ViewGrant.objects.get(pk=grant.pk).blurred


def test_a_person_without_the_wish_is_seen_clear(home: Municipality, fake_clock: FakeClock) -> None:
    grant = open_view(home, fake_clock, blurred=False)
    assert redeem(str(grant.gid))["blur"] is False


def test_the_operator_switches_to_the_clear_picture_with_a_reason(
    home: Municipality, fake_clock: FakeClock, unblurred: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    grant = open_view(home, fake_clock, blurred=True)
    redeem(str(grant.gid))
    client = operator_client(home.user(Role.OPERATOR))
    assert ask_clear(client, grant, "because").status_code == 409  # not one of the reasons: nothing happens
    assert unblurred == []
    with django_capture_on_commit_callbacks(execute=True):
        response = ask_clear(client, grant, ClearPictureReason.SUSPECTED_FALL)
    assert response.status_code == 200 and response.json()["clear"] is True
    assert unblurred == [str(grant.gid)]  # the gateway is told, after the commit
    entry = AuditEntry.objects.get(action=AuditAction.CLEAR_PICTURE_SHOWN)
    assert (entry.actor_id, entry.person_id, entry.detail["reason"]) == (
        home.user(Role.OPERATOR).id,
        grant.person_id,
        "suspected_fall",
    )
    assert not RAW.search(describe(entry.detail))  # the log review reads words, not codes
    # A second click is the same switch: one entry.
    assert ask_clear(client, grant, ClearPictureReason.OTHER).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.CLEAR_PICTURE_SHOWN).count() == 1

    record_view_event(str(grant.gid), event="first_frame", at=fake_clock())
    record_view_event(str(grant.gid), event="ended", at=fake_clock(), reason="grant_end")
    (letter,) = month_letters(home.tenant, fake_clock().date(), [grant.person_id])
    assert [view.clear_picture_reason for view in letter.views] == ["suspected_fall"]
    month = fake_clock().date().replace(day=1)
    content = pdf_text(produce_letter(grant.person, actor=home.user(Role.CASE_OFFICER), month=month))
    with translation.override("sv"):
        assert str(ClearPictureReason.SUSPECTED_FALL.label) in content

    # The view has ended: no clear picture any more, and the refusal is audited.
    grant2 = ViewGrant.objects.get(pk=grant.pk)
    grant2.clear_picture_at = None
    grant2.save(update_fields=["clear_picture_at"])
    response = ask_clear(client, grant2, ClearPictureReason.OTHER)
    assert response.status_code == 409 and response.json()["error"]
    refused = AuditEntry.objects.filter(action=AuditAction.CLEAR_PICTURE_SHOWN).order_by("id").last()
    assert refused is not None and refused.detail["reason"] == "view_not_live" and refused.detail["refused"]
    assert not RAW.search(describe(refused.detail))


def test_a_view_that_is_not_blurred_cannot_be_switched(
    home: Municipality, fake_clock: FakeClock, unblurred: list[str]
) -> None:
    grant = open_view(home, fake_clock, blurred=False)
    redeem(str(grant.gid))
    response = ask_clear(operator_client(home.user(Role.OPERATOR)), grant, ClearPictureReason.OTHER)
    assert response.status_code == 409
    assert unblurred == []
    assert AuditEntry.objects.get(action=AuditAction.CLEAR_PICTURE_SHOWN).detail["reason"] == "not_blurred"


def test_nobody_else_can_switch_someone_elses_view(
    home: Municipality, outsider: Municipality, fake_clock: FakeClock, unblurred: list[str]
) -> None:
    grant = open_view(home, fake_clock, blurred=True)
    redeem(str(grant.gid))
    colleague = make_user("kollega", home.tenant, Role.OPERATOR)
    stranger = outsider.user(Role.OPERATOR)
    planner = home.user(Role.PLANNER)
    Membership.objects.filter(user=planner).exclude(role=Role.PLANNER).delete()
    for user, reason in ((colleague, "not_own"), (stranger, "outside_tenant")):
        response = ask_clear(operator_client(user), grant, ClearPictureReason.OTHER)
        assert response.status_code == 404
        entry = AuditEntry.objects.filter(action=AuditAction.ACCESS_REFUSED, actor=user).get()
        assert (entry.object_type, entry.object_id, entry.detail["reason"]) == ("ViewGrant", str(grant.gid), reason)
    assert ask_clear(operator_client(planner), grant, ClearPictureReason.OTHER).status_code in (403, 404)
    assert unblurred == []
    assert not AuditEntry.objects.filter(action=AuditAction.CLEAR_PICTURE_SHOWN).exists()
    assert ViewGrant.objects.get(pk=grant.pk).clear_picture_at is None
