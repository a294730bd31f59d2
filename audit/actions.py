"""Changes made by the auditor: reviews of sampled accesses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AccessReview, AuditAction, AuditEntry
from audit.records import record
from nattillsyn import clock
from nattillsyn.errors import ActionRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def review_access(entry: AuditEntry, *, actor: User, verdict: str, note: str = "") -> AccessReview:
    if entry.tenant_id is None:
        raise ActionRefused(_("Only accesses to a municipality's data are reviewed."))
    if entry.actor_id == actor.id:
        raise ActionRefused(_("Nobody reviews their own accesses."))
    review = AccessReview.objects.create(
        entry=entry,
        tenant_id=entry.tenant_id,
        reviewer=actor,
        reviewed_at=clock.now(),
        verdict=verdict,
        note=note.strip()[:500],
    )
    record(
        actor=actor,
        action=AuditAction.ACCESS_REVIEWED,
        tenant=entry.tenant_id,
        person=entry.person_id,
        obj=review,
        detail={"entry": entry.id, "verdict": verdict, "note": review.note},
    )
    return review
