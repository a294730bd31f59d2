"""The one place that audits refusals (ASVS 16.3: every authorization failure logged).

The access helpers (``*/access.py``) raise Http404 or PermissionDenied carrying what
was asked for and why (``accounts.access.refused``); ``AuditRefusalsMiddleware`` writes
the entry when such an exception leaves a view. A 404 or 403 a view raises on its own,
without that label, is audited too, as a refused page. The login form audits a locked-out
name through ``audit_refusal``.

Folding, so nobody can flood the log: the first refusal of a kind (same actor, address,
object kind and reason) is written at once and opens a period of ``FOLD_PERIOD``. Identical
refusals inside the period are only counted, in ``RefusalCounter``, since the log itself
is append-only. When the period has closed, the next refusal of any kind writes one entry
per folded series (``repeated: N``, with its first and last time and the first few ids),
so at most two entries per series and period; ``flush_folded_refusals`` does the same for
a caller with nothing to refuse (a worker).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse

from accounts.access import REFUSAL_ATTR, Refusal, RefusalReason, tenant_ids_for
from audit.models import AuditAction, AuditEntry, RefusalCounter
from audit.records import record
from nattillsyn import clock
from nattillsyn.net import client_ip

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

FOLD_PERIOD = timedelta(seconds=60)
IDS_KEPT = 10  # ids of a folded series kept for the auditor; the count says how many in all


@functools.cache
def _asked_type(kind: str) -> type:
    # ``record`` names an entry's object by its class and pk; a refused object is never
    # loaded, so a stand-in of the same class name carries what was asked for.
    return type(kind or "Page", (), {"__slots__": ("pk",)})


def _asked(kind: str, object_id: str) -> Any:
    asked = _asked_type(kind)()
    asked.pk = object_id
    return asked


def _series_key(actor_id: int | None, ip: str | None, kind: str, reason: str) -> str:
    return hashlib.sha256(json.dumps([actor_id, ip, kind, reason]).encode()).hexdigest()


def _write_folded(counter: RefusalCounter) -> None:
    record(
        actor=counter.actor,
        action=AuditAction.ACCESS_REFUSED,
        tenant=counter.tenant_id,
        obj=_asked(counter.kind, ""),
        ip=counter.ip,
        detail={
            "reason": counter.reason,
            "kind": counter.kind,
            "repeated": counter.repeated,
            "first_at": counter.period_start.isoformat(),
            "last_at": counter.last_at.isoformat(),
            "ids": counter.object_ids,
        },
    )


def flush_folded_refusals(now: datetime | None = None) -> int:
    """Write the count of every series whose period has closed; the number written."""
    now = now or clock.now()
    written = 0
    with transaction.atomic():
        closed = list(
            # OF self: the actor is a nullable join; SKIP LOCKED: another worker has those.
            RefusalCounter.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(period_start__lte=now - FOLD_PERIOD)
            .select_related("actor")
            .order_by("id")
        )
        for counter in closed:
            if counter.repeated:
                _write_folded(counter)
                written += 1
        RefusalCounter.objects.filter(id__in=[counter.id for counter in closed]).delete()
    return written


def audit_refusal(
    *,
    actor: User | AnonymousUser | None,
    ip: str | None,
    kind: str,
    object_id: str,
    reason: str,
    tenant: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry | None:
    """Audit one refusal; the entry, or None when it was folded into its series' count.

    Its own transaction: called after the refused request's work was rolled back (or
    when there was none), so the entry is kept whatever the request did."""
    now = clock.now()
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        flush_folded_refusals(now)
        counter, opened = RefusalCounter.objects.select_for_update().get_or_create(
            key=_series_key(actor_id, ip, kind, reason),
            defaults={
                "actor_id": actor_id,
                "tenant_id": tenant,
                "ip": ip,
                "kind": kind,
                "reason": reason,
                "period_start": now,
                "last_at": now,
            },
        )
        if not opened:
            counter.repeated += 1
            counter.last_at = now
            if object_id and object_id not in counter.object_ids and len(counter.object_ids) < IDS_KEPT:
                counter.object_ids.append(object_id)
            counter.save(update_fields=["repeated", "last_at", "object_ids"])
            return None
        return record(
            actor=actor,
            action=AuditAction.ACCESS_REFUSED,
            tenant=tenant,
            obj=_asked(kind, object_id),
            ip=ip,
            detail={"reason": reason, "kind": kind, "id": object_id, **(detail or {})},
        )


def audit_request_refusal(request: HttpRequest, exception: PermissionDenied | Http404) -> AuditEntry | None:
    refusal = getattr(exception, REFUSAL_ATTR, None)
    if not isinstance(refusal, Refusal):
        # Raised by a view itself, not by an access helper: audited as a refused page.
        reason = RefusalReason.NOT_FOUND if isinstance(exception, Http404) else RefusalReason.ROLE_MISSING
        refusal = Refusal("", "", reason)
    user = getattr(request, "user", None)
    # The entry belongs to the municipality of the user who asked (when they have one),
    # whose auditor answers for them; the other municipality's log stays as it was.
    tenant_ids = tenant_ids_for(user) if user is not None else set()
    return audit_refusal(
        actor=user,
        ip=client_ip(request),
        kind=refusal.kind or "Page",
        object_id=refusal.object_id,
        reason=refusal.reason,
        tenant=next(iter(tenant_ids)) if len(tenant_ids) == 1 else None,
        detail={"method": request.method, "path": request.path[:200]},
    )


class AuditRefusalsMiddleware:
    """Audits a 404 or 403 raised by a view (``process_exception``), then lets Django
    answer it as before."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied | Http404):
            audit_request_refusal(request, exception)
