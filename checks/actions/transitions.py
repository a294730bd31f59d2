""""""

from __future__ import annotations

from typing import Any

from audit.models import AuditAction
from audit.records import record
from checks.models import Check, CheckState
from nattillsyn import clock


def end_check(check: Check, state: str, *, reason: str, actor: Any) -> None:
    check.state = state
    check.end_reason = reason
    check.ended_at = clock.now()
    check.save(update_fields=["state", "end_reason", "ended_at"])
    if state == CheckState.CANCELLED:
        record(
            actor=actor,
            action=AuditAction.CHECK_CANCELLED,
            tenant=check.tenant_id,
            person=check.person_id,
            obj=check,
            detail={"reason": reason},
        )
