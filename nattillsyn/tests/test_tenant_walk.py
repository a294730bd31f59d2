"""Walk every URL of the control plane as each user of another municipality.

Every URL pattern is taken from the resolver, so a new page is walked without
anyone remembering to add it. Object ids are filled with real objects of the home
municipality; the outsiders must get a refusal and see none of its data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from accounts.models import Role, WebAuthnCredential
from audit.models import AuditAction, AuditEntry, RefusalCounter
from cameras.actions import open_training_view
from checks import actions
from checks.covered_actions import open_camera_concern
from checks.engine import NightWorker
from checks.models import Alarm, Attempt, Check, ConcernKind, Escalation, Outcome
from letters.actions import request_batch
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.testing import (
    TEST_PERSONNUMMER,
    Municipality,
    SecondFactorClient,
    at_stockholm,
    make_person,
    make_training_camera,
)
from people.actions import add_co_resident, register_co_resident_consent

pytestmark = pytest.mark.django_db

SECRET_NAME = "Hemliga Hedvig"
SECRET_ADDRESS = "Hedvigs väg 1"


def all_patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    routes = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                routes.append("admin/")
                continue
            routes.extend(all_patterns(entry, route))
        elif isinstance(entry, URLPattern):
            routes.append(route)
    return routes


@pytest.fixture
def home_world(home: Municipality, fake_clock: FakeClock) -> dict[str, int]:
    person = make_person(home, SECRET_NAME, personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0), time(2, 0)])
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
    training_camera = make_training_camera(home)
    training_grant = open_training_view(training_camera, actor=operator)
    # Another person's household, so tonight's checks above stay as they are.
    neighbour = make_person(home, "Granne", personnummer=TEST_PERSONNUMMER[1])
    co_resident = add_co_resident(neighbour, actor=home.user(Role.PLANNER), name="Sambo", personnummer="")
    co_resident_consent = register_co_resident_consent(
        co_resident, actor=home.user(Role.PLANNER), method="oral", given_at=clock.now()
    )
    concern = open_camera_concern(neighbour, actor=None, kind=ConcernKind.COVERED, evidence="picture_black")
    batch = request_batch(home.tenant, actor=home.user(Role.CASE_OFFICER), month=date(2026, 10, 1))
    return {
        "co_resident_id": co_resident.id,
        "co_resident_consent_id": co_resident_consent.id,
        "batch_id": batch.id,
        "concern_id": concern.id,
        "gid": training_grant.gid,
        "person_id": person.id,
        "camera_id": person.camera.id,
        "check_id": second.id,
        "attempt_id": open_attempt.id,
        "escalation_id": Escalation.objects.get(person=person).id,
        "alarm_id": Alarm.objects.filter(tenant=home.tenant).first().id,
        "consent_id": person.consents.get().id,
        "tenant_id": home.tenant.id,
        "user_id": home.user(Role.OPERATOR).id,
        "key_id": WebAuthnCredential.objects.create(
            user=operator, name="Nyckel", credential_id="a2V5", public_key=b"k", created_at=clock.now()
        ).id,
        "entry_id": AuditEntry.objects.filter(tenant=home.tenant).order_by("-id").values_list("id", flat=True).first(),
    }


def fill(route: str, ids: dict[str, int]) -> str:
    return "/" + re.sub(r"<(?:int|uuid):(\w+)>", lambda m: str(ids[m.group(1)]), route)


def resolves(url: str) -> bool:
    """A refusal, not an address with a parameter the walk cannot fill (``<slug:…>``)."""
    try:
        resolve(url)
    except Resolver404:
        return False
    return True


def refusals_audited() -> int:
    """Refusals in the audit log, an entry each or folded into a series' count."""
    folded = RefusalCounter.objects.aggregate(total=Sum("repeated"))["total"] or 0
    return AuditEntry.objects.filter(action=AuditAction.ACCESS_REFUSED).count() + folded


def test_it_walks_every_url_and_leaks_nothing_to_other_municipalities(
    home_world: dict[str, int], outsider: Municipality, headline: Callable[[str, object], None]
) -> None:
    assert Alarm.objects.exists() and Attempt.objects.exists()
    routes = all_patterns()
    home_tenant = Check.objects.get(id=home_world["check_id"]).tenant_id
    audit_before = AuditEntry.objects.filter(tenant_id=home_tenant).count()
    state_before = sorted(Check.objects.values_list("id", "state"))
    leaks: list[str] = []
    unaudited: list[str] = []
    requests = refusals = 0
    # The routes that end the session (log out, end all sessions) last: walked after a
    # logout, the rest would only ever see the login page.
    ends_session = ("logout/", "sessions/end-all")
    walk_order = sorted(routes, key=lambda route: route in ends_session)
    for role, user in outsider.users.items():
        client = SecondFactorClient()
        client.force_login(user)
        for route in walk_order:
            url = fill(route, home_world)
            if route in ends_session:
                client = SecondFactorClient()
                client.force_login(user)
            for method in ("get", "post"):
                audited_before = refusals_audited()
                response = getattr(client, method)(url)
                requests += 1
                if response.status_code in (403, 404) and resolves(url):
                    refusals += 1
                    if refusals_audited() == audited_before:
                        unaudited.append(f"{role} {method.upper()} {url}: {response.status_code}")
                assert response.status_code < 500, f"{role} {method.upper()} {url}"
                body = response.content.decode(errors="replace")
                has_id = "<int:" in route or "<uuid:" in route
                if SECRET_NAME in body or SECRET_ADDRESS in body:
                    leaks.append(f"{role} {method.upper()} {url}: shows the home person")
                elif has_id and response.status_code not in (302, 400, 401, 403, 404, 405):
                    leaks.append(f"{role} {method.upper()} {url}: status {response.status_code}")
                elif (
                    has_id
                    and response.status_code == 302
                    and not response["Location"].startswith(("/login", "/admin/login"))
                ):
                    # A redirect is fine only to a login page.
                    leaks.append(f"{role} {method.upper()} {url}: redirected to {response['Location']}")
    assert sorted(Check.objects.values_list("id", "state")) == state_before
    # Nothing of the home municipality changed or was even touched.
    assert AuditEntry.objects.filter(tenant_id=home_tenant).count() == audit_before
    headline("security.tenant_walk_endpoints", len(routes))
    headline("security.tenant_walk_requests", requests)
    headline("security.tenant_walk_leaks", len(leaks))
    headline("security.tenant_walk_refusals_audited", f"{refusals - len(unaudited)}/{refusals}")
    assert leaks == []
    # Every refusal leaves an audit entry (ASVS 16.3), however it was refused.
    assert refusals > 0 and unaudited == []


def test_an_alarm_centre_operator_sees_both_municipalities_and_nothing_else(
    home: Municipality, outsider: Municipality, alarm_centre_operator, fake_clock: FakeClock, client: Client
) -> None:
    make_person(home, "Anna i Nattby", personnummer=TEST_PERSONNUMMER[0])
    make_person(outsider, "Bo i Grannby", personnummer=TEST_PERSONNUMMER[1])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    client.force_login(alarm_centre_operator)
    page = client.get("/console/").content.decode()
    assert "Anna i Nattby" in page and "Bo i Grannby" in page
    assert client.get("/people/").status_code == 403  # an operator is not care staff
