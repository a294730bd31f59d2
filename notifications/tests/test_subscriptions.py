"""Turning the patrol's phone alerts on and off, the app's manifest and service worker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from audit.models import AuditAction, AuditEntry
from nattillsyn.testing import Municipality
from notifications.models import PushSubscription
from notifications.tests.push_service import Phone

pytestmark = pytest.mark.django_db

ENDPOINT = "https://fcm.googleapis.com/fcm/send/phone-1"


def post_subscription(client: Any, body: Any) -> Any:
    return client.post(reverse("console:push-subscribe"), body, content_type="application/json")


def test_it_subscribes_a_patrol_phone_once_however_often_the_page_says_so(client: Any, home: Municipality) -> None:
    patrol = home.user(Role.PATROL)
    client.force_login(patrol)
    phone = Phone(endpoint=ENDPOINT)
    for _visit in range(3):
        response = post_subscription(client, phone.subscription_json())
        assert response.status_code == 200
    subscription = PushSubscription.objects.get()
    assert (subscription.user, subscription.tenant, subscription.endpoint) == (patrol, home.tenant, ENDPOINT)
    entries = AuditEntry.objects.filter(action=AuditAction.PUSH_SUBSCRIBED)
    assert entries.count() == 1 and entries.get().actor == patrol and entries.get().tenant == home.tenant


def test_a_phone_holds_only_the_subscription_of_whoever_turned_alerts_on_last(client: Any, home: Municipality) -> None:
    phone = Phone(endpoint=ENDPOINT)
    first = home.user(Role.PATROL)
    second = Membership.objects.create(user=home.user(Role.OPERATOR), tenant=home.tenant, role=Role.PATROL).user
    for user in (first, second):
        client.force_login(user)
        assert post_subscription(client, phone.subscription_json()).status_code == 200
    assert list(PushSubscription.objects.values_list("user", flat=True)) == [second.id]
    removed = AuditEntry.objects.get(action=AuditAction.PUSH_UNSUBSCRIBED)
    assert removed.detail["user"] == first.get_username() and removed.detail["reason"] == "another_user"


def test_unsubscribe_removes_only_the_users_own_subscription(client: Any, home: Municipality) -> None:
    patrol = home.user(Role.PATROL)
    client.force_login(patrol)
    post_subscription(client, Phone(endpoint=ENDPOINT).subscription_json())
    client.force_login(home.user(Role.SHIFT_LEAD))
    response = client.post(reverse("console:push-unsubscribe"), {"endpoint": ENDPOINT}, content_type="application/json")
    assert response.json() == {"subscribed": False, "removed": 0}
    assert PushSubscription.objects.count() == 1
    client.force_login(patrol)
    response = client.post(reverse("console:push-unsubscribe"), {"endpoint": ENDPOINT}, content_type="application/json")
    assert response.json() == {"subscribed": False, "removed": 1}
    assert not PushSubscription.objects.exists()
    assert AuditEntry.objects.get(action=AuditAction.PUSH_UNSUBSCRIBED).detail["reason"] == "turned_off"


def test_only_the_night_patrol_subscribes(client: Any, home: Municipality) -> None:
    client.force_login(home.user(Role.SHIFT_LEAD))
    assert post_subscription(client, Phone(endpoint=ENDPOINT).subscription_json()).status_code == 403
    assert not PushSubscription.objects.exists()
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_REFUSED).count() == 1


def test_a_push_service_not_allowed_is_refused_with_a_message_and_audited(client: Any, home: Municipality) -> None:
    client.force_login(home.user(Role.PATROL))
    for endpoint in ("https://169.254.169.254/latest/meta-data", "https://fcm.googleapis.com.evil.example/x"):
        response = post_subscription(client, Phone(endpoint=endpoint).subscription_json())
        assert response.status_code == 400 and response.json()["error"]
    assert not PushSubscription.objects.exists()
    refusal = AuditEntry.objects.get(action=AuditAction.ACCESS_REFUSED)
    assert refusal.detail["reason"] == "push_service_not_allowed"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        [],
        {"endpoint": ENDPOINT},
        {"endpoint": ENDPOINT, "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
        {"endpoint": ENDPOINT, "keys": {"p256dh": "***", "auth": "***"}},
        {"endpoint": 5, "keys": "x"},
    ],
)
def test_a_subscription_that_cannot_be_read_is_a_400_not_a_500(client: Any, home: Municipality, body: Any) -> None:
    client.force_login(home.user(Role.PATROL))
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post(reverse("console:push-subscribe"), data, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]
    assert not PushSubscription.objects.exists()


def test_the_patrol_page_is_an_installable_app(client: Any, home: Municipality) -> None:
    client.force_login(home.user(Role.PATROL))
    page = client.get(reverse("console:patrol")).content.decode()
    assert f'href="{reverse("console:patrol-manifest")}"' in page
    manifest = client.get(reverse("console:patrol-manifest"))
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["start_url"] == data["scope"] == reverse("console:patrol") and data["display"] == "standalone"
    assert {icon["sizes"] for icon in data["icons"]} >= {"192x192", "512x512"}
    worker = client.get(reverse("console:patrol-service-worker"))
    assert worker["Content-Type"].startswith("text/javascript")
    script = worker.content.decode()
    for needed in (
        'addEventListener("push"',
        "requireInteraction: true",
        "renotify: true",
        "vibrate",
        "notificationclick",
    ):
        assert needed in script


def test_the_page_gives_a_patrol_the_key_and_a_shift_lead_none(client: Any, home: Municipality) -> None:
    from notifications.vapid import application_server_key

    client.force_login(home.user(Role.PATROL))
    assert f'data-key="{application_server_key()}"' in client.get(reverse("console:patrol")).content.decode()
    client.force_login(home.user(Role.SHIFT_LEAD))
    page = client.get(reverse("console:patrol")).content.decode()
    assert 'data-key=""' in page and 'data-patrol="0"' in page
