from __future__ import annotations

from django.http import HttpRequest

from accounts.access import not_found, require_role
from cameras.models import Camera


def get_camera_for_user(request: HttpRequest, camera_id: int, *roles: str) -> Camera:
    tenant_ids = require_role(request.user, *roles, kind="Camera", object_id=camera_id)
    camera = Camera.objects.select_related("tenant", "person").filter(id=camera_id, tenant_id__in=tenant_ids).first()
    if camera is None:
        raise not_found("Camera", camera_id, Camera.objects.filter(id=camera_id))
    return camera
