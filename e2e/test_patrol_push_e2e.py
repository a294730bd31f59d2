"""The patrol's phone as an app in Chromium: the service worker installs, push is asked
for, a push reaches the page's service worker while the page is in the background and
shows a notification that rings and stays; without push the page beeps on a new
escalation.

Chromium in a test has no push service to reach (no network, no Google account), so
``pushManager.subscribe`` fails or, where it succeeds, yields an FCM endpoint nothing
can post to. The push is therefore handed to the service worker through the DevTools
protocol (``ServiceWorker.deliverPushMessage``), which is what Chromium does with a push
its push service delivers. The server's side of the push (VAPID, encryption, delivery)
is tested against a local push service in notifications/tests/test_push.py.
"""

from __future__ import annotations

import json
import time as wallclock
from typing import Any

import pyotp
import pytest

from accounts.models import Role
from checks.models import Escalation, EscalationCause
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, TEST_TOTP_SECRET, make_municipality, make_person
from notifications import push
from notifications.models import PushSubscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def log_in(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "nattillsyn-test-password")
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/mfa/**")
    for _attempt in range(2):  # each code works once per user: wait for the next if needed
        page.fill("input[name=code]", pyotp.TOTP(TEST_TOTP_SECRET).at(clock.now()))
        page.click("[data-testid=verify-code]")
        page.wait_for_load_state()
        if "/mfa/" not in page.url:
            return
        wallclock.sleep(30 - wallclock.time() % 30 + 0.5)
    raise AssertionError("the second factor was not accepted")


def wait_for(condition: Any, what: str, page: Any, timeout: float = 15) -> Any:
    deadline = wallclock.monotonic() + timeout
    while wallclock.monotonic() < deadline:
        value = condition()
        if value:
            return value
        page.wait_for_timeout(200)  # not time.sleep: Playwright delivers events only while called
    raise AssertionError(f"timed out waiting for {what}")


def test_a_push_reaches_the_patrol_app_in_the_background_and_rings(
    live_server: Any, browser: Any, settings: Any, headline: Any
) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    person = make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0])
    context = browser.new_context(locale="sv-SE", viewport=PHONE, is_mobile=True, has_touch=True)
    context.grant_permissions(["notifications"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server.url, "nattby-patrol")
    page.goto(live_server.url + "/console/patrol/")

    # The service worker installs and controls the patrol's pages: the app is installable.
    state = page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.active.state)")
    assert state in ("activating", "activated")
    manifest = page.evaluate("document.querySelector('link[rel=manifest]').href")
    assert manifest.endswith("/console/patrol/manifest.webmanifest")

    # Permission is granted, so the page subscribes at once; offline Chromium may refuse
    # (no push service), and then the page says so and falls back to polling and a beep.
    status = page.locator("[data-testid=push-status]")
    wait_for(lambda: status.get_attribute("data-state") != "starting", "the page to settle its push state", page)
    subscribed = status.get_attribute("data-state")
    assert subscribed in ("on", "failed")
    assert page.locator("[data-testid=push-message]").inner_text().strip()
    headline("push.chromium_offline_subscription", subscribed)
    if subscribed == "on":
        subscription = PushSubscription.objects.get()
        assert subscription.user == home.user(Role.PATROL) and subscription.endpoint.startswith("https://")
        PushSubscription.objects.all().delete()  # nothing here can post to a real push service

    # The page goes to the background as on a phone in a pocket: another tab in front,
    # and the page frozen (no timers, no polling), so only the service worker can ring.
    other = context.new_page()
    other.goto(live_server.url + "/console/patrol/manifest.webmanifest")
    other.bring_to_front()
    page_session = context.new_cdp_session(page)
    page_session.send("Page.setWebLifecycleState", {"state": "frozen"})

    escalation = Escalation.objects.create(
        tenant=home.tenant, person=person, cause=EscalationCause.NEEDS_HELP, plan=["visit"], created_at=clock.now()
    )
    session = context.new_cdp_session(other)
    registrations: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    session.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    session.on("ServiceWorker.workerVersionUpdated", lambda event: versions.extend(event["versions"]))
    session.send("ServiceWorker.enable")
    registration = wait_for(
        lambda: next((r for r in registrations if r["scopeURL"].endswith("/console/patrol/")), None),
        "the service worker's registration",
        other,
    )
    # A push goes to the registration's activated version; `ready` above may have seen it
    # still activating.
    wait_for(
        lambda: any(
            v["registrationId"] == registration["registrationId"] and v["status"] == "activated" for v in versions
        ),
        "the service worker to be activated",
        other,
    )
    session.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(push.payload(escalation, push.Occasion.NEW)),
        },
    )
    # Read from the service worker itself: asked from the page in front (a JSON document),
    # getRegistration() sometimes did not see the notification the worker had shown.
    worker = wait_for(
        lambda: next((w for w in context.service_workers if "/console/patrol/" in w.url), None),
        "Playwright to see the service worker",
        other,
    )
    shown = wait_for(
        lambda: worker.evaluate(
            """self.registration.getNotifications().then(
                (list) => list.map((n) => ({title: n.title, body: n.body, tag: n.tag, renotify: n.renotify,
                    requireInteraction: n.requireInteraction, vibrate: Array.from(n.vibrate), url: n.data.url})))"""
        ),
        "the notification",
        other,
    )
    assert len(shown) == 1
    notification = shown[0]
    assert notification["title"] == "Nattillsyn"
    assert notification["body"] == push.payload(escalation, push.Occasion.NEW)["body"]
    assert "Astrid" not in json.dumps(notification)
    assert notification["tag"] == f"escalation-{escalation.id}"
    assert notification["renotify"] is True and notification["requireInteraction"] is True
    assert notification["vibrate"] and sum(notification["vibrate"]) > 0
    assert notification["url"] == f"{live_server.url}/console/patrol/#escalation-{escalation.id}"
    context.close()


def test_without_push_the_page_says_so_and_beeps_on_a_new_escalation(
    live_server: Any, browser: Any, settings: Any
) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    person = make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0])
    context = browser.new_context(locale="sv-SE", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server.url, "nattby-patrol")
    page.goto(live_server.url + "/console/patrol/")
    status = page.locator("[data-testid=push-status]")
    wait_for(lambda: status.get_attribute("data-state") != "starting", "the page to settle its push state", page)
    # No permission granted: the page offers to ask for it (or, where the browser has
    # already said no, tells the patrol to keep the page open), and keeps polling.
    assert status.get_attribute("data-state") in ("ask", "denied")
    assert page.locator("[data-testid=push-message]").inner_text().strip()
    assert page.locator("[data-testid=push-sound]").is_visible()  # "tap once so the page may beep"
    page.locator("[data-testid=push-message]").click()  # a tap: the page may now make sound

    Escalation.objects.create(
        tenant=home.tenant, person=person, cause=EscalationCause.MISSED, plan=["visit"], created_at=clock.now()
    )
    # The 15 s poll, without waiting 15 s.
    page.evaluate("htmx.ajax('GET', location.pathname, {target: '#patrol-rows', swap: 'innerHTML'})")
    wait_for(lambda: status.get_attribute("data-beeps") == "1", "the beep", page)
    assert page.evaluate("document.querySelectorAll('[data-testid=escalation]').length") == 1
    context.close()
