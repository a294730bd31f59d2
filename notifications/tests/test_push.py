"""Web Push to the patrol's phones, through a push service on localhost that checks the
VAPID signature and decrypts each push as the phone would (push_service.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.actions import end_all_sessions
from accounts.models import Membership, Role
from audit.models import AuditAction, AuditEntry
from checks.actions import raise_alarm
from checks.models import AlarmKind, Escalation, EscalationCause, EscalationState
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, make_person, make_user
from notifications import push
from notifications.models import PushSubscription
from notifications.tests.push_service import Phone, PushService, verify_vapid
from notifications.vapid import application_server_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(settings: Any) -> Iterator[PushService]:
    running = PushService()
    settings.PUSH_SERVICE_HOSTS = ["127.0.0.1"]
    yield running
    running.close()


@pytest.fixture
def person(home: Municipality) -> Any:
    return make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0])


def subscribe(client: Any, user: Any, phone: Phone) -> Any:
    client.force_login(user)
    response = client.post(
        reverse("console:push-subscribe"),
        phone.subscription_json(),
        content_type="application/json",
        headers={"user-agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131"},
    )
    client.logout()
    return response


def escalate(person: Any, captured: Any, cause: str = EscalationCause.NEEDS_HELP) -> Escalation:
    with captured(execute=True):
        return Escalation.objects.create(
            tenant=person.tenant, person=person, cause=cause, plan=["visit"], created_at=clock.now()
        )


def test_it_pushes_a_new_escalation_to_every_patrol_phone_of_the_municipality_and_nothing_personal(
    client: Any,
    home: Municipality,
    outsider: Municipality,
    person: Any,
    service: PushService,
    django_capture_on_commit_callbacks: Any,
) -> None:
    second_patrol = make_user("nattby-patrol-2", home.tenant, Role.PATROL)
    phones = {"first": service.phone("first"), "second": service.phone("second"), "other": service.phone("other")}
    assert subscribe(client, home.user(Role.PATROL), phones["first"]).status_code == 200
    assert subscribe(client, second_patrol, phones["second"]).status_code == 200
    assert subscribe(client, outsider.user(Role.PATROL), phones["other"]).status_code == 200

    escalation = escalate(person, django_capture_on_commit_callbacks)

    assert sorted(delivery.path for delivery in service.deliveries) == ["/push/first", "/push/second"]
    for delivery in service.deliveries:
        phone = phones[delivery.path.rsplit("/", 1)[1]]
        message = phone.decrypt(delivery.body)
        assert message == push.payload(escalation, push.Occasion.NEW)
        assert message["tag"] == f"escalation-{escalation.id}" and message["urgent"] is True
        # The lock screen shows no name, address or cause.
        for private in (person.name, "Astrid", person.address, "help", "hjälp"):
            assert private.lower() not in delivery.body.decode("latin-1").lower()
            assert private.lower() not in str(message).lower()
        assert delivery.headers["content-encoding"] == "aes128gcm"
        assert delivery.headers["urgency"] == "high"
        assert int(delivery.headers["ttl"]) == push.PUSH_TTL_S
        claims, key = verify_vapid(delivery.headers["authorization"], audience=service.origin)
        assert key == application_server_key()
    sent = AuditEntry.objects.get(action=AuditAction.PUSH_SENT)
    assert sent.tenant == home.tenant and sent.object_id == str(escalation.id)
    assert sent.detail == {"occasion": "new_escalation", "devices": 2, "failed": 0}


def test_it_reminds_once_when_the_escalation_stays_unacknowledged_and_not_after_acknowledgement(
    client: Any, home: Municipality, person: Any, service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    phone = service.phone("first")
    subscribe(client, home.user(Role.PATROL), phone)
    escalation = escalate(person, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        raise_alarm(home.tenant.id, AlarmKind.UNACKNOWLEDGED_ESCALATION, escalation=escalation)
    assert len(service.deliveries) == 2
    reminder = phone.decrypt(service.deliveries[1].body)
    assert reminder == push.payload(escalation, push.Occasion.UNACKNOWLEDGED)
    assert reminder["tag"] == f"escalation-{escalation.id}"  # replaces the first notification

    Escalation.objects.filter(pk=escalation.pk).update(state=EscalationState.ACKNOWLEDGED)
    assert push.send_escalation_push(escalation.id, push.Occasion.UNACKNOWLEDGED) is None
    assert len(service.deliveries) == 2


def test_a_planned_visit_is_pushed_as_not_urgent(
    client: Any, home: Municipality, person: Any, service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    phone = service.phone("first")
    subscribe(client, home.user(Role.PATROL), phone)
    escalate(person, django_capture_on_commit_callbacks, cause=EscalationCause.PLANNED_VISIT)
    assert phone.decrypt(service.deliveries[0].body)["urgent"] is False
    assert service.deliveries[0].headers["urgency"] == "normal"


def test_a_subscription_the_push_service_calls_gone_is_removed(
    client: Any, home: Municipality, person: Any, service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(client, home.user(Role.PATROL), service.phone("first"))
    service.status = 410
    escalate(person, django_capture_on_commit_callbacks)
    assert not PushSubscription.objects.exists()
    removed = AuditEntry.objects.get(action=AuditAction.PUSH_UNSUBSCRIBED)
    assert removed.detail["reason"] == "gone" and removed.actor is None
    assert AuditEntry.objects.get(action=AuditAction.PUSH_SENT).detail["devices"] == 0


def test_a_slow_push_service_is_given_up_after_the_timeout(
    client: Any,
    home: Municipality,
    person: Any,
    service: PushService,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    subscribe(client, home.user(Role.PATROL), service.phone("first"))
    settings.PUSH_TIMEOUT_S = 1
    service.delay = 3
    started = time.monotonic()
    escalate(person, django_capture_on_commit_callbacks)
    assert time.monotonic() - started < 2.5
    assert AuditEntry.objects.get(action=AuditAction.PUSH_SENT).detail == {
        "occasion": "new_escalation",
        "devices": 0,
        "failed": 1,
    }
    assert PushSubscription.objects.count() == 1  # a slow service is no reason to forget the phone


@pytest.mark.parametrize("how", ["patrol role removed", "logged out everywhere", "deactivated"])
def test_a_user_no_longer_on_patrol_stops_getting_pushes(
    client: Any,
    home: Municipality,
    person: Any,
    service: PushService,
    fake_clock: Any,
    django_capture_on_commit_callbacks: Any,
    how: str,
) -> None:
    patrol = home.user(Role.PATROL)
    subscribe(client, patrol, service.phone("first"))
    fake_clock.advance(minutes=1)
    if how == "patrol role removed":
        Membership.objects.filter(user=patrol, role=Role.PATROL).delete()
    elif how == "logged out everywhere":
        end_all_sessions(patrol, actor=patrol)
    else:
        patrol.is_active = False
        patrol.save()
    escalate(person, django_capture_on_commit_callbacks)
    assert service.deliveries == []
    assert not PushSubscription.objects.exists()
    assert AuditEntry.objects.get(action=AuditAction.PUSH_UNSUBSCRIBED).detail["reason"] == "no_longer_patrol"


def test_a_rolled_back_escalation_never_rings(
    client: Any, home: Municipality, person: Any, service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(client, home.user(Role.PATROL), service.phone("first"))
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        Escalation.objects.create(
            tenant=person.tenant, person=person, cause=EscalationCause.MISSED, plan=[], created_at=clock.now()
        )
        raise RuntimeError("rolled back")
    assert callbacks == [] and service.deliveries == []


@pytest.mark.django_db(transaction=True)
def test_in_production_the_push_leaves_from_a_thread_after_the_commit(
    client: Any, home: Municipality, person: Any, service: PushService, settings: Any
) -> None:
    phone = service.phone("first")
    subscribe(client, home.user(Role.PATROL), phone)
    settings.PUSH_IN_BACKGROUND = True
    service.delay = 0.5
    started = time.monotonic()
    escalation = Escalation.objects.create(
        tenant=person.tenant, person=person, cause=EscalationCause.NEEDS_HELP, plan=[], created_at=clock.now()
    )
    assert time.monotonic() - started < 0.4  # the committing code did not wait for the push service
    push.wait_for_background_pushes()
    assert phone.decrypt(service.deliveries[0].body)["tag"] == f"escalation-{escalation.id}"
    assert AuditEntry.objects.filter(action=AuditAction.PUSH_SENT).count() == 1
