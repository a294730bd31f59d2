"""Web Push to the night patrol's phones (RFC 8030 delivery, RFC 8291 encryption,
RFC 8292 VAPID, through pywebpush).

A push says only that there is something to open: a phone's lock screen is seen by
whoever holds it, so no name, address or cause leaves the server (docs/PRIVACY.md).
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from pywebpush import WebPushException, webpush

from accounts.models import Membership, Role, SessionRevocation
from checks.models import Escalation, EscalationCause, EscalationState
from notifications import actions
from notifications.models import PushSubscription
from notifications.vapid import vapid

log = logging.getLogger("notifications.push")

# How long a push service keeps a push for a phone that is off: an escalation an hour
# old has had its reminder and its shift-lead alarm; a phone back on by then opens the page.
PUSH_TTL_S = 3600
# Answers meaning the subscription is gone for good (RFC 8030 §7.3): unsubscribed,
# app data cleared, or expired. Anything else may pass and is tried again next time.
GONE_STATUSES = (404, 410)


class Occasion:
    NEW = "new_escalation"
    UNACKNOWLEDGED = "still_unacknowledged"


@dataclass(frozen=True)
class PushResult:
    sent: int
    failed: int
    gone: int


def endpoint_allowed(endpoint: str) -> bool:
    """Only the push services of the settings, over HTTPS (plain HTTP only in the demo
    and its tests, whose push service is local)."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and not (parts.scheme == "http" and settings.DEMO_MODE):
        return False
    return any(host == allowed or host.endswith("." + allowed) for allowed in settings.PUSH_SERVICE_HOSTS)


def payload(escalation: Escalation, occasion: str) -> dict[str, object]:
    """What the service worker shows. Worded for a lock screen: nothing about the person."""
    with translation.override(settings.LANGUAGE_CODE):
        if escalation.cause == EscalationCause.PLANNED_VISIT:
            body = _("A planned visit is waiting – open the app")
        elif occasion == Occasion.UNACKNOWLEDGED:
            body = _("An escalation is still not acknowledged – open the app")
        else:
            body = _("New escalation – open the app")
        return {
            "title": "Nattillsyn",
            "body": body,
            # One notification per escalation: the reminder replaces the first (and, with
            # renotify, rings again) instead of piling up.
            "tag": f"escalation-{escalation.id}",
            "url": reverse("console:patrol") + f"#escalation-{escalation.id}",
            "urgent": escalation.cause != EscalationCause.PLANNED_VISIT,
        }


def recipients(escalation: Escalation) -> QuerySet[PushSubscription]:
    """The phones of the escalation's municipality whose user is, now, an active patrol
    who has not logged out everywhere since subscribing."""
    return stale_or_current(escalation.tenant_id).filter(_current_condition())


def _current_condition() -> Q:
    patrol = Membership.objects.filter(user=OuterRef("user"), tenant=OuterRef("tenant"), role=Role.PATROL)
    revoked_since = SessionRevocation.objects.filter(user=OuterRef("user"), ended_at__gte=OuterRef("created_at"))
    return Q(user__is_active=True) & Q(Exists(patrol)) & ~Q(Exists(revoked_since))


def stale_or_current(tenant_id: int) -> QuerySet[PushSubscription]:
    return PushSubscription.objects.filter(tenant_id=tenant_id).order_by("id")


def send_escalation_push(escalation_id: int, occasion: str) -> PushResult | None:
    """Push to every patrol phone of the escalation's municipality, if it still waits
    for the patrol. Each push service gets ``PUSH_TIMEOUT_S``; gone subscriptions are
    removed, and the count (never the text) is audited."""
    key = vapid()
    escalation = Escalation.objects.select_related("tenant").filter(id=escalation_id).first()
    if key is None or escalation is None:
        return None
    if escalation.state not in (EscalationState.OPEN, EscalationState.ACKNOWLEDGED):
        return None
    if occasion == Occasion.UNACKNOWLEDGED and escalation.state != EscalationState.OPEN:
        return None
    # Users who lost the patrol role or logged out everywhere: their phones stop for good.
    stale = stale_or_current(escalation.tenant_id).exclude(_current_condition())
    stale_ids = list(stale.values_list("id", flat=True))
    if stale_ids:
        actions.remove_subscriptions(stale_ids, reason="no_longer_patrol")
    subscriptions = list(recipients(escalation))
    if not subscriptions:
        return PushResult(sent=0, failed=0, gone=0)
    data = json.dumps(payload(escalation, occasion))
    urgent = escalation.cause != EscalationCause.PLANNED_VISIT
    sent = failed = 0
    gone: list[int] = []
    for subscription in subscriptions:
        if not endpoint_allowed(subscription.endpoint):  # the allowed services changed since
            gone.append(subscription.id)
            continue
        try:
            webpush(
                {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
                data=data,
                vapid_private_key=key,
                # pywebpush fills in "aud" and "exp" in the dict it is given: a new one each time.
                vapid_claims={"sub": settings.PUSH_VAPID_SUBJECT},
                timeout=settings.PUSH_TIMEOUT_S,
                ttl=PUSH_TTL_S,
                headers={"Urgency": "high" if urgent else "normal", "Topic": f"escalation-{escalation.id}"},
            )
            sent += 1
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in GONE_STATUSES:
                gone.append(subscription.id)
            else:
                failed += 1
                log.warning("push to subscription %s refused: %s", subscription.id, status or exc)
        except requests.RequestException as exc:  # timeout, refused connection, DNS
            failed += 1
            log.warning("push to subscription %s failed: %s", subscription.id, type(exc).__name__)
    if gone:
        actions.remove_subscriptions(gone, reason="gone")
    actions.record_push_sent(escalation, occasion=occasion, sent=sent, failed=failed)
    return PushResult(sent=sent, failed=failed, gone=len(gone))


# A few at a time: a window closing on fifty checks escalates fifty at once, and each
# push waits on a push service for up to PUSH_TIMEOUT_S per phone.
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_pending: list[Future[None]] = []


def schedule_escalation_push(escalation_id: int, occasion: str) -> None:
    """Called after the escalation's transaction commits (``signals.py``)."""
    global _executor
    if not settings.PUSH_IN_BACKGROUND:
        send_escalation_push(escalation_id, occasion)
        return
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="push")
        _pending[:] = [future for future in _pending if not future.done()]
        _pending.append(_executor.submit(_send_in_background, escalation_id, occasion))


def _send_in_background(escalation_id: int, occasion: str) -> None:
    close_old_connections()
    try:
        send_escalation_push(escalation_id, occasion)
    except Exception:  # a failed push must not be silent; the page's polling still shows it
        log.exception("push for escalation %s failed", escalation_id)
    finally:
        connection.close()  # this thread's own connection: the next push opens a fresh one


def wait_for_background_pushes(timeout: float = 10) -> None:
    """For tests and a clean stop: let pushes already started finish."""
    with _executor_lock:
        pending = list(_pending)
    wait(pending, timeout=timeout)
