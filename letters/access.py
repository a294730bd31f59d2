"""The one way views get a batch of letters: only within the user's municipalities."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.access import not_found, require_role
from letters.models import LetterBatch


def get_batch_for_user(request: HttpRequest, batch_id: int, *roles: str) -> LetterBatch:
    tenant_ids = require_role(request.user, *roles, kind="LetterBatch", object_id=batch_id)
    batch = LetterBatch.objects.select_related("tenant").filter(id=batch_id, tenant_id__in=tenant_ids).first()
    if batch is None:
        raise not_found("LetterBatch", batch_id, LetterBatch.objects.filter(id=batch_id))
    return batch
