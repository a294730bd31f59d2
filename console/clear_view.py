"""The live view's "show the clear picture" button (cameras/clear_view.py decides)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.types import AuthenticatedHttpRequest
from cameras.access import get_grant_for_viewer
from cameras.clear_view import show_clear_picture
from cameras.models import ClearPictureReason, ViewGrant
from nattillsyn import clock
from nattillsyn.net import client_ip
from people.actions import ActionRefused
from people.rules import picture_blurred


@login_required
@require_POST
def clear_picture(request: AuthenticatedHttpRequest, gid: str) -> HttpResponse:
    """Called by the live view's script; answers JSON with what to show."""
    grant = get_grant_for_viewer(request, gid)
    try:
        grant = show_clear_picture(
            grant, actor=request.user, reason=request.POST.get("reason", ""), ip=client_ip(request)
        )
    except ActionRefused as refusal:
        return JsonResponse({"error": str(refusal)}, status=409)
    message = _("Clear picture shown: %(reason)s") % {"reason": grant.get_clear_picture_reason_display()}
    return JsonResponse({"clear": True, "message": message})


def blur_context(grant: ViewGrant | None) -> dict[str, object]:
    """For the live view template: will this view be blurred, and the reasons to offer."""
    person = None if grant is None else grant.person
    blurred = person is not None and (grant.blurred or picture_blurred(person, clock.now()))  # type: ignore[union-attr]
    return {"blurred": blurred, "clear_picture_reasons": ClearPictureReason.choices if blurred else []}
