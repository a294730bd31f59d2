from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.access import RefusalReason, not_found, refused, require_role
from accounts.models import Role
from cameras.models import Camera, ViewGrant


def get_camera_for_user(request: HttpRequest, camera_id: int, *roles: str) -> Camera:
    tenant_ids = require_role(request.user, *roles, kind="Camera", object_id=camera_id)
    camera = Camera.objects.select_related("tenant", "person").filter(id=camera_id, tenant_id__in=tenant_ids).first()
    if camera is None:
        raise not_found("Camera", camera_id, Camera.objects.filter(id=camera_id))
    return camera


def get_grant_for_viewer(request: HttpRequest, gid: str) -> ViewGrant:
    """A view grant of the operator's own, in a municipality where they are an operator."""
    tenant_ids = require_role(request.user, Role.OPERATOR, kind="ViewGrant", object_id=gid)
    grant = ViewGrant.objects.filter(gid=gid, tenant_id__in=tenant_ids, operator_id=request.user.pk).first()
    if grant is None:
        if ViewGrant.objects.filter(gid=gid, tenant_id__in=tenant_ids).exists():
            raise refused(Http404, RefusalReason.NOT_OWN, "ViewGrant", gid)
        raise not_found("ViewGrant", gid, ViewGrant.objects.filter(gid=gid))
    return grant
