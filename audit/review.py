"""Log review (loggkontroll): a random sample of camera accesses to review, and accesses
that look unusual. Read-only; reviews are recorded by audit.actions.review_access."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from audit.models import AuditAction, AuditEntry

# A view longer than the municipality's view time by more than this is flagged.
VIEW_MARGIN_S = 5
# Reasons for a refused opening that mean someone tried outside the agreed times or places.
OUTSIDE_RULES = {
    "not_yet_due",
    "retry_not_yet_due",
    "outside_check_window",
    "check_not_open",
    "network_not_allowed",
    "no_installation_booking",
    "outside_installation_slot",
    "no_installation_consent",
}


def sample_accesses(tenant_ids: set[int], start: datetime, end: datetime, count: int, seed: int) -> list[AuditEntry]:
    """``count`` camera views of the period, chosen at random (reproducible with ``seed``)."""
    ids = list(
        AuditEntry.objects.filter(
            tenant_id__in=tenant_ids, action=AuditAction.CAMERA_VIEW, at__gte=start, at__lt=end
        ).values_list("id", flat=True)
    )
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))
    return list(AuditEntry.objects.filter(id__in=chosen).select_related("person", "tenant").order_by("at"))


@dataclass(frozen=True)
class Flag:
    kind: str  # "long_view", "many_persons", "outside_rules"
    at: datetime
    actor_name: str
    explanation: str
    entry_ids: tuple[int, ...]


def unusual_accesses(tenant_ids: set[int], start: datetime, end: datetime) -> list[Flag]:
    """Accesses worth a closer look, newest first:

    1. views longer than the municipality allows (plus a margin for the network);
    2. one user opening cameras of many different persons in a short time;
    3. attempts to open a camera outside the agreed check windows or networks (refused).
    """
    entries = AuditEntry.objects.filter(tenant_id__in=tenant_ids, at__gte=start, at__lt=end).select_related("tenant")
    flags: list[Flag] = []
    for entry in entries.filter(action=AuditAction.CAMERA_VIEW, duration_s__isnull=False).order_by("at"):
        allowed = entry.tenant.view_seconds if entry.tenant else settings.MAX_VIEW_HARD_LIMIT_S
        if entry.duration_s is not None and entry.duration_s > allowed + VIEW_MARGIN_S:
            flags.append(
                Flag("long_view", entry.at, entry.actor_name, f"{entry.duration_s:.0f} s > {allowed} s", (entry.id,))
            )
    window = timedelta(minutes=settings.AUDIT_FLAG_WINDOW_MIN)
    opened = entries.filter(action=AuditAction.CHECK_OPENED, person__isnull=False).order_by("actor_name", "at")
    by_actor: dict[str, list[tuple[datetime, int, int]]] = defaultdict(list)
    for actor_name, at, person_id, entry_id in opened.values_list("actor_name", "at", "person_id", "id"):
        by_actor[actor_name].append((at, person_id, entry_id))
    for actor_name, opens in by_actor.items():
        first = 0
        flagged_until: datetime | None = None
        for last in range(len(opens)):
            while opens[last][0] - opens[first][0] > window:
                first += 1
            persons = {person for _at, person, _id in opens[first : last + 1]}
            if len(persons) > settings.AUDIT_FLAG_MANY_PERSONS and (
                flagged_until is None or opens[first][0] > flagged_until
            ):
                flags.append(
                    Flag(
                        "many_persons",
                        opens[last][0],
                        actor_name,
                        f"{len(persons)} / {settings.AUDIT_FLAG_WINDOW_MIN} min",
                        tuple(entry_id for _at, _person, entry_id in opens[first : last + 1]),
                    )
                )
                flagged_until = opens[last][0]
    for entry in entries.filter(action=AuditAction.GRANT_REFUSED).order_by("at"):
        reason = str(entry.detail.get("reason", ""))
        if reason in OUTSIDE_RULES and entry.actor_name:
            flags.append(Flag("outside_rules", entry.at, entry.actor_name, reason, (entry.id,)))
    return sorted(flags, key=lambda flag: flag.at, reverse=True)
