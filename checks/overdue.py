"""When a due camera check is overdue: due longer than its municipality's grace
(``Tenant.overdue_grace_min``) and still not opened. One rule, asked by the console (the
row on top, in red), the worker (the shift lead's alarm), tonight's figures and the
metrics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from checks.models import CheckForm, CheckState


def overdue_at(due_at: datetime, grace_min: int) -> datetime:
    """The instant a check made due at ``due_at`` becomes overdue."""
    return due_at + timedelta(minutes=grace_min)


def is_overdue(check: Any, grace_min: int, now: datetime) -> bool:
    return (
        check.state == CheckState.DUE
        and check.form == CheckForm.CAMERA
        and check.due_at is not None
        and overdue_at(check.due_at, grace_min) <= now
    )


def overdue_checks(grace_min: int, now: datetime) -> Q:
    """``is_overdue`` as an ORM filter."""
    return Q(state=CheckState.DUE, form=CheckForm.CAMERA, due_at__lte=now - timedelta(minutes=grace_min))
