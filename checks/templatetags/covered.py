"""The covered-camera task on pages the people app renders (people cannot import checks)."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.access import tenants_for
from accounts.models import Role
from checks.models import CameraConcern

register = template.Library()


@register.simple_tag
def camera_concerns_of(person: Any) -> list[CameraConcern]:
    """The person's concerns, open first, then the last few closed."""
    return list(CameraConcern.objects.filter(person=person).select_related("resolved_by").order_by("-found_at")[:5])


@register.simple_tag
def open_camera_concern_count(user: Any) -> int:
    """Open tasks in the municipalities where ``user`` is a case officer."""
    tenant_ids = tenants_for(user, Role.CASE_OFFICER).values("id")
    return CameraConcern.objects.filter(tenant_id__in=tenant_ids, resolved_at__isnull=True).count()
