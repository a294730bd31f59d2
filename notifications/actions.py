"""Changes to the patrol's push subscriptions, each audited in its own transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from notifications.models import PushSubscription


@dataclass(frozen=True)
class BrowserSubscription:
    """What ``PushSubscription.toJSON()`` in the browser gives, checked (``forms.py``)."""

    endpoint: str
    p256dh: str
    auth: str
    user_agent: str


@transaction.atomic
def subscribe(
    subscription: BrowserSubscription, *, acting_user: Any, tenant_ids: Iterable[int], ip: str | None = None
) -> int:
    """Push to this phone for ``acting_user`` in each of ``tenant_ids`` (the municipalities
    where they are on the night patrol). Another user's subscription on the same phone
    ends: a shared phone alerts only whoever turned alerts on last. Asked again on every
    page load, so only a new subscription is audited. Returns how many are new."""
    _remove(
        PushSubscription.objects.select_for_update().filter(endpoint=subscription.endpoint).exclude(user=acting_user),
        actor=acting_user,
        ip=ip,
        reason="another_user",
    )
    created = 0
    for tenant in Tenant.objects.filter(id__in=tenant_ids).order_by("id"):
        _row, is_new = PushSubscription.objects.update_or_create(
            endpoint=subscription.endpoint,
            tenant=tenant,
            defaults={
                "user": acting_user,
                "p256dh": subscription.p256dh,
                "auth": subscription.auth,
                "user_agent": subscription.user_agent[:300],
            },
            create_defaults={
                "user": acting_user,
                "p256dh": subscription.p256dh,
                "auth": subscription.auth,
                "user_agent": subscription.user_agent[:300],
                "created_at": clock.now(),
            },
        )
        if is_new:
            created += 1
            record(
                actor=acting_user,
                action=AuditAction.PUSH_SUBSCRIBED,
                tenant=tenant,
                ip=ip,
                detail={"device": subscription.user_agent[:120]},
            )
    return created


@transaction.atomic
def unsubscribe(endpoint: str, *, acting_user: Any, ip: str | None = None) -> int:
    """No more pushes to this phone for ``acting_user`` (turned off, or logging out)."""
    return _remove(
        PushSubscription.objects.select_for_update().filter(endpoint=endpoint, user=acting_user),
        actor=acting_user,
        ip=ip,
        reason="turned_off",
    )


@transaction.atomic
def remove_subscriptions(subscription_ids: Iterable[int], *, reason: str) -> int:
    """The system's removals: the push service says the subscription is gone (404/410),
    or its user is no longer on the night patrol or logged out everywhere."""
    return _remove(PushSubscription.objects.select_for_update().filter(id__in=list(subscription_ids)), reason=reason)


def _remove(subscriptions: Any, *, reason: str, actor: Any = None, ip: str | None = None) -> int:
    removed = 0
    for subscription in subscriptions.select_related("user", "tenant"):
        record(
            actor=actor,
            action=AuditAction.PUSH_UNSUBSCRIBED,
            tenant=subscription.tenant,
            ip=ip,
            detail={
                "user": subscription.user.get_username(),
                "device": subscription.user_agent[:120],
                "reason": reason,
            },
        )
        subscription.delete()
        removed += 1
    return removed


@transaction.atomic
def record_push_sent(escalation: Any, *, occasion: str, sent: int, failed: int) -> None:
    """One entry per push to a municipality's phones: how many took it, never its text."""
    record(
        actor=None,
        action=AuditAction.PUSH_SENT,
        tenant=escalation.tenant,
        obj=escalation,
        detail={"occasion": occasion, "devices": sent, "failed": failed},
    )
