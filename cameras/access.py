from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.access import require_role
from cameras.models import Camera


def get_camera_for_user(request: HttpRequest, camera_id: int, *roles: str) -> Camera:
    tenant_ids = require_role(request.user, *roles)
    camera = Camera.objects.select_related("tenant", "person").filter(id=camera_id, tenant_id__in=tenant_ids).first()
    if camera is None:
        raise Http404
    return camera
