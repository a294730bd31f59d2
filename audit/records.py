"""Writing to the audit log. Called inside the transaction of the change it records."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.models import AuditChainHead, AuditEntry
from nattillsyn import clock

GENESIS_HASH = "0" * 64


def entry_digest(entry: AuditEntry, prev_hash: str) -> str:
    content = {
        # UTC, as the database gives it back: a digest of a local time would not verify.
        "at": entry.at.astimezone(UTC).isoformat(),
        "tenant": entry.tenant_id,
        "actor": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "person": entry.person_id,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "duration_s": entry.duration_s,
        "ip": entry.ip,
        "detail": entry.detail,
    }
    message = prev_hash + json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def record(
    *,
    actor: Any,
    action: str,
    tenant: Any = None,
    person: Any = None,
    obj: Any = None,
    duration_s: float | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    at: Any = None,
) -> AuditEntry:
    """Append one entry. Joins the caller's transaction, so the entry and the change
    it records are committed together or not at all."""
    with transaction.atomic():
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"last_hash": GENESIS_HASH}
        )
        actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
        entry = AuditEntry(
            at=at or clock.now(),
            tenant_id=getattr(tenant, "id", tenant),
            actor=actor_obj,
            actor_name=actor_obj.get_username() if actor_obj else "",
            action=action,
            person_id=getattr(person, "id", person),
            object_type=type(obj).__name__ if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            duration_s=duration_s,
            ip=ip,
            detail=detail or {},
            prev_hash=head.last_hash,
        )
        entry.entry_hash = entry_digest(entry, head.last_hash)
        entry.save()
        head.last_hash = entry.entry_hash
        head.save(update_fields=["last_hash"])
        return entry


def verify_chain() -> tuple[int, list[str]]:
    """Walk the log in order; return the number of entries and the problems found."""
    problems: list[str] = []
    prev_hash = GENESIS_HASH
    count = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        count += 1
        if entry.prev_hash != prev_hash:
            problems.append(f"entry {entry.id}: does not follow the entry before it (deleted or reordered)")
        if entry_digest(entry, entry.prev_hash) != entry.entry_hash:
            problems.append(f"entry {entry.id}: content does not match its hash (changed)")
        prev_hash = entry.entry_hash
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.last_hash != prev_hash:
        problems.append("the newest entries are missing (chain head does not match)")
    return count, problems
