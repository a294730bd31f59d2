"""Every refusal of an object outside the user's municipality or role leaves exactly one
audit entry (ASVS 16.3), and a flood of identical refusals is folded into a count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from audit.models import AuditAction, AuditEntry, RefusalCounter
from audit.refusals import flush_folded_refusals
from checks import actions
from checks.engine import NightWorker
from checks.models import Alarm, Check, Escalation, Outcome
from nattillsyn.clock import FakeClock
from nattillsyn.testing import (
    PASSWORD,
    TEST_PERSONNUMMER,
    Municipality,
    SecondFactorClient,
    at_stockholm,
    make_person,
    make_user,
)

pytestmark = pytest.mark.django_db

OUTSIDE = "outside_tenant"


@pytest.fixture
def world(home: Municipality, fake_clock: FakeClock) -> dict[str, Any]:
    """A night of the home municipality with a check, an open attempt, an escalation and an alarm."""
    person = make_person(home, "Hemliga Hedvig", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0), time(2, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    operator = home.user(Role.OPERATOR)
    first, second = Check.objects.filter(person=person).order_by("scheduled_at")[:2]
    attempt, _ = actions.open_check(first, actor=operator)
    actions.record_outcome(attempt, actor=operator, outcome=Outcome.NEEDS_HELP)
    fake_clock.set(at_stockholm(2026, 11, 24, 2, 0))
    NightWorker("t").tick(fake_clock())
    open_attempt, _ = actions.open_check(second, actor=operator)
    fake_clock.advance(minutes=20)
    NightWorker("t").tick(fake_clock())
    return {
        "person": person.id,
        "consent": person.consents.get().id,
        "camera": person.camera.id,
        "check": second.id,
        "attempt": open_attempt.id,
        "escalation": Escalation.objects.get(person=person).id,
        "alarm": Alarm.objects.filter(tenant=home.tenant).first().id,  # type: ignore[union-attr]
    }


def refused_entries() -> Any:
    return AuditEntry.objects.filter(action=AuditAction.ACCESS_REFUSED)


def test_it_audits_every_refusal_kind_once(
    world: dict[str, Any],
    home: Municipality,
    outsider: Municipality,
    fake_clock: FakeClock,
    headline: Callable[[str, object], None],
) -> None:
    colleague = make_user("nattby-operator-2", home.tenant, Role.OPERATOR)
    out, w = outsider.user, world
    # (who asks, method, url, status, kind asked for, id asked for, reason)
    cases: list[tuple[Any, str, str, int, str, Any, str]] = [
        (out(Role.PLANNER), "get", f"/people/{w['person']}/", 404, "Person", w["person"], OUTSIDE),
        (
            out(Role.CASE_OFFICER),
            "post",
            f"/people/consents/{w['consent']}/withdraw/",
            404,
            "Consent",
            w["consent"],
            OUTSIDE,
        ),
        (out(Role.OPERATOR), "post", f"/console/checks/{w['check']}/open", 404, "Check", w["check"], OUTSIDE),
        (out(Role.OPERATOR), "get", f"/console/attempts/{w['attempt']}/", 404, "Attempt", w["attempt"], OUTSIDE),
        (colleague, "get", f"/console/attempts/{w['attempt']}/", 404, "Attempt", w["attempt"], "not_own"),
        (out(Role.INSTALLER), "get", f"/cameras/{w['camera']}/", 404, "Camera", w["camera"], OUTSIDE),
        (
            out(Role.PATROL),
            "post",
            f"/console/patrol/{w['escalation']}/acknowledge",
            404,
            "Escalation",
            w["escalation"],
            OUTSIDE,
        ),
        (
            out(Role.SHIFT_LEAD),
            "post",
            f"/console/lead/alarms/{w['alarm']}/acknowledge",
            404,
            "Alarm",
            w["alarm"],
            OUTSIDE,
        ),
        (out(Role.PLANNER), "get", f"/reports/persons/{w['person']}/", 404, "Person", w["person"], OUTSIDE),
        (out(Role.AUDITOR), "get", f"/audit/persons/{w['person']}/extract.csv", 404, "Person", w["person"], OUTSIDE),
        (out(Role.PLANNER), "get", "/people/987654/", 404, "Person", 987654, "not_found"),
        (home.user(Role.OPERATOR), "get", f"/people/{w['person']}/", 403, "Person", w["person"], "role_missing"),
        (out(Role.ADMINISTRATOR), "get", f"/municipalities/{home.tenant.id}/users/", 404, "Page", "", "not_found"),
    ]
    audited = 0
    for user, method, url, status, kind, object_id, reason in cases:
        fake_clock.advance(minutes=2)  # a new folding period: each case stands alone
        client = SecondFactorClient()
        client.force_login(user)
        before = refused_entries().count()
        response = getattr(client, method)(url)
        assert response.status_code == status, url
        new = list(refused_entries().order_by("id")[before:])
        assert len(new) == 1, url
        entry = new[0]
        assert (entry.actor_id, entry.ip, entry.object_type, entry.object_id) == (
            user.id,
            "127.0.0.1",
            kind,
            str(object_id),
        ), url
        assert entry.detail["reason"] == reason and entry.detail["path"] == url, url
        # The entry is the asking user's municipality's; the home log stays as it was.
        assert entry.tenant_id == user.memberships.get().tenant_id
        audited += 1

    # A try on a locked name: refused before the password is checked, and audited.
    fake_clock.advance(minutes=2)
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "nattby-planner", "password": "fel-lösenord"})
    before = refused_entries().count()
    assert client.post("/login/", {"username": "nattby-planner", "password": PASSWORD}).status_code == 200
    (entry,) = refused_entries().order_by("id")[before:]
    assert (entry.actor_id, entry.ip, entry.object_type, entry.object_id, entry.detail["reason"]) == (
        None,
        "127.0.0.1",
        "Login",
        "nattby-planner",
        "locked_out",
    )
    audited += 1

    # Nothing the outsiders did is in the home municipality's log.
    assert not AuditEntry.objects.filter(tenant=home.tenant, actor__memberships__tenant=outsider.tenant).exists()
    headline("security.refusal_kinds_audited", f"{audited}/{len(cases) + 1}")


def test_it_folds_a_flood_of_identical_refusals(
    world: dict[str, Any], outsider: Municipality, fake_clock: FakeClock
) -> None:
    client = SecondFactorClient()
    client.force_login(outsider.user(Role.PLANNER))
    for person_id in range(900_000, 900_050):  # an enumeration of ids: 50 refusals, one series
        assert client.get(f"/people/{person_id}/").status_code == 404
    assert refused_entries().count() == 1
    assert RefusalCounter.objects.get().repeated == 49
    # Another kind of refusal by the same user is its own series, written at once.
    assert client.get(f"/people/{world['person']}/").status_code == 404
    assert refused_entries().count() == 2

    # The period closes: the next refusal (of any kind) first writes the counts.
    fake_clock.advance(seconds=61)
    assert client.get("/people/900000/").status_code == 404
    entries = list(refused_entries().order_by("id"))
    assert len(entries) == 4
    folded, fresh = entries[2], entries[3]
    assert folded.detail["repeated"] == 49 and folded.detail["reason"] == "not_found"
    assert folded.detail["ids"] == [str(i) for i in range(900_001, 900_011)]
    assert folded.actor_id == outsider.user(Role.PLANNER).id and folded.object_type == "Person"
    assert fresh.detail.get("repeated") is None and fresh.object_id == "900000"

    # A series nobody continues is written by the flush (a worker's job).
    for _ in range(3):
        client.get("/people/900000/")
    assert flush_folded_refusals() == 0  # its period is still open
    fake_clock.advance(seconds=61)
    assert flush_folded_refusals() == 1
    assert refused_entries().order_by("-id").first().detail["repeated"] == 3  # type: ignore[union-attr]
    assert not RefusalCounter.objects.exists()


def test_it_folds_tries_on_a_locked_name(home: Municipality, fake_clock: FakeClock) -> None:
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "nattby-operator", "password": "fel-lösenord"})
    for _ in range(20):
        client.post("/login/", {"username": "nattby-operator", "password": PASSWORD})
    assert refused_entries().count() == 1
    fake_clock.advance(seconds=61)
    # The worker writes the count of a series nobody continued.
    assert NightWorker("t").tick(fake_clock()).counts.get("refusals_folded") == 1
    assert refused_entries().order_by("-id").first().detail["repeated"] == 19  # type: ignore[union-attr]
