"""Writing to the audit log. Called inside the transaction of the change it records."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from audit.models import AuditAction, AuditChain, AuditEntry
from nattillsyn import clock

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

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


def lock_chain(tenant: Any, *, skip_locked: bool = False) -> AuditChain | None:
    """Lock the audit chain of ``tenant`` (a municipality or its id; None: the platform
    chain) until the end of the transaction, making it if it is the first entry there.

    With ``skip_locked``, None when another transaction holds it: the worker then turns
    to another municipality first (checks.engine)."""
    tenant_id = getattr(tenant, "id", tenant)
    chain = AuditChain.objects.select_for_update(skip_locked=skip_locked).filter(tenant_id=tenant_id).first()
    if chain is not None:
        return chain
    if skip_locked and AuditChain.objects.filter(tenant_id=tenant_id).exists():
        return None
    try:
        with transaction.atomic():
            return AuditChain.objects.create(tenant_id=tenant_id, last_hash=GENESIS_HASH, start_hash=GENESIS_HASH)
    except IntegrityError:  # made meanwhile by another transaction (which has committed: it held the insert)
        if skip_locked:
            return AuditChain.objects.select_for_update(skip_locked=True).filter(tenant_id=tenant_id).first()
        return AuditChain.objects.select_for_update().get(tenant_id=tenant_id)


def record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    tenant: Any = None,
    person: Any = None,
    obj: Any = None,
    duration_s: float | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    at: Any = None,
) -> AuditEntry:
    """Append one entry to its municipality's chain (the platform's with no ``tenant``).
    Joins the caller's transaction, so the entry and the change it records are committed
    together or not at all; the chain stays locked until then."""
    with transaction.atomic():
        tenant_id = getattr(tenant, "id", tenant)
        chain = lock_chain(tenant_id)
        assert chain is not None  # waited for, never skipped
        # A visitor not logged in (AnonymousUser) is written as no one.
        actor_obj = cast("User | None", actor if getattr(actor, "is_authenticated", False) else None)
        entry = AuditEntry(
            at=at or clock.now(),
            tenant_id=tenant_id,
            actor=actor_obj,
            actor_name=actor_obj.get_username() if actor_obj else "",
            action=action,
            person_id=getattr(person, "id", person),
            object_type=type(obj).__name__ if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            duration_s=duration_s,
            ip=ip,
            detail=detail or {},
            chain=chain,
            prev_hash=chain.last_hash,
        )
        entry.entry_hash = entry_digest(entry, chain.last_hash)
        entry.save()
        chain.last_hash, chain.last_entry_id = entry.entry_hash, entry.id
        chain.save(update_fields=["last_hash", "last_entry_id"])
        return entry


def verify_chain() -> tuple[int, list[str]]:
    """Walk every chain in order; return the number of entries and the problems found.

    A chain starts at the genesis hash, or, once retention removed its oldest entries,
    at the hash of the last one removed (``AuditChain.start_hash``); it ends at its head."""
    problems: list[str] = []
    count = 0
    for chain in AuditChain.objects.order_by("id"):
        entries = AuditEntry.objects.filter(chain=chain).order_by("id")
        if chain.anchored_through_id is not None and entries.filter(id__lte=chain.anchored_through_id).exists():
            problems.append(f"chain {chain}: entries older than the retention anchor are still there")
        prev_hash = chain.start_hash
        for entry in entries.iterator(chunk_size=2000):
            count += 1
            if entry.prev_hash != prev_hash:
                problems.append(f"entry {entry.id}: does not follow the entry before it (deleted or reordered)")
            if entry_digest(entry, entry.prev_hash) != entry.entry_hash:
                problems.append(f"entry {entry.id}: content does not match its hash (changed)")
            if chain.tenant_id is not None and entry.tenant_id != chain.tenant_id:
                problems.append(f"entry {entry.id}: in the chain of another municipality (moved)")
            prev_hash = entry.entry_hash
        if chain.last_hash != prev_hash:
            problems.append(f"chain {chain}: the newest entries are missing (chain head does not match)")
    return count, problems


def enforce_retention(now: datetime, *, days: int | None = None) -> int:
    """Remove the entries older than the retention period; returns how many.

    Chain by chain, one transaction each, only a prefix of the chain is removed (every
    entry before the first one to keep), so the rest still verifies: the last removed
    entry's hash becomes the chain's start (its anchor). On PostgreSQL the append-only
    trigger lets this transaction, and only it, delete. Each removal is itself audited,
    in the chain it shortened.
    """
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS if days is None else days)
    return sum(
        _expire(chain_id, cutoff, now) for chain_id in AuditChain.objects.order_by("id").values_list("id", flat=True)
    )


def _expire(chain_id: int, cutoff: datetime, now: datetime) -> int:
    with transaction.atomic():
        chain = AuditChain.objects.select_for_update().get(id=chain_id)
        entries = AuditEntry.objects.filter(chain=chain).order_by("id")
        first_kept = entries.filter(at__gte=cutoff).values_list("id", flat=True).first()
        expired = entries.filter(id__lt=first_kept) if first_kept is not None else entries
        last = expired.values_list("id", "entry_hash").last()
        if last is None:
            return 0
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL nattillsyn.audit_retention = 'on'")
        with connection.cursor() as cursor:  # around the ORM's append-only guard, on purpose
            cursor.execute(
                f"DELETE FROM {AuditEntry._meta.db_table} WHERE chain_id = %s AND id <= %s", [chain.id, last[0]]
            )
            removed = cursor.rowcount
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL nattillsyn.audit_retention = 'off'")
        chain.start_hash, chain.anchored_through_id = last[1], last[0]
        chain.removed += removed
        chain.save(update_fields=["start_hash", "anchored_through_id", "removed"])
        record(
            actor=None,
            action=AuditAction.AUDIT_RETENTION,
            tenant=chain.tenant_id,
            detail={"removed": removed, "older_than": cutoff.isoformat(), "through_entry": last[0]},
            at=now,
        )
    return removed


def _head_mac(line: dict[str, Any]) -> str:
    message = json.dumps({k: v for k, v in line.items() if k != "mac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), b"head:" + message.encode(), hashlib.sha256).hexdigest()


def export_head(path: str, now: datetime) -> dict[str, Any] | None:
    """Append the head of every chain (its newest entry's id and hash) as one line to ``path``.

    The file is only ever opened for appending and synced to disk. Kept somewhere the
    database's owner cannot rewrite (another host, WORM storage, an object store with
    object lock), the lines prove what each chain's head was at each export: rewriting
    the log from some point on, even with the chain key, no longer matches them
    (``verify_audit_chain --heads``).
    """
    heads = [
        {"chain": chain_id, "tenant": tenant_id, "entry_id": entry_id, "entry_hash": entry_hash}
        for chain_id, tenant_id, entry_id, entry_hash in AuditChain.objects.filter(last_entry_id__isnull=False)
        .order_by("id")
        .values_list("id", "tenant_id", "last_entry_id", "last_hash")
    ]
    if not heads:
        return None
    line: dict[str, Any] = {"exported_at": now.astimezone(UTC).isoformat(), "heads": heads}
    line["mac"] = _head_mac(line)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (json.dumps(line, sort_keys=True) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return line


def verify_heads(path: str) -> tuple[int, list[str]]:
    """Check every exported head against the log: its entry is still there, in its chain,
    with the same hash. A line from before chains were per municipality holds one head,
    of the chain that is now the platform chain."""
    problems: list[str] = []
    chains = {chain.id: chain for chain in AuditChain.objects.all()}
    platform = next((chain.id for chain in chains.values() if chain.tenant_id is None), None)
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    for number, text in enumerate(lines, start=1):
        try:
            line = json.loads(text)
            raw_heads = line["heads"] if "heads" in line else [dict(line, chain=platform)]
            heads = [(head["chain"], int(head["entry_id"]), str(head["entry_hash"])) for head in raw_heads]
        except (ValueError, KeyError, TypeError):
            problems.append(f"head {number}: not a head line")
            continue
        if not hmac.compare_digest(str(line.get("mac", "")), _head_mac(line)):
            problems.append(f"head {number}: its MAC does not match (the export was altered)")
            continue
        for chain_id, entry_id, entry_hash in heads:
            chain = chains.get(chain_id)
            if chain is None:
                problems.append(f"head {number}: chain {chain_id} is gone")
                continue
            if chain.anchored_through_id is not None and entry_id <= chain.anchored_through_id:
                continue  # removed by retention, as it should be
            stored = AuditEntry.objects.filter(id=entry_id, chain=chain).values_list("entry_hash", flat=True).first()
            if stored is None:
                problems.append(f"head {number}: entry {entry_id} of chain {chain} is gone")
            elif stored != entry_hash:
                problems.append(f"head {number}: entry {entry_id} has another hash now (the log was rewritten)")
    return len(lines), problems
