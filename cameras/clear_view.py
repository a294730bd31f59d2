"""The operator switches a blurred view to the clear picture, with a reason (docs/PRIVACY.md).

A person may accept the camera on condition that the picture is blurred
(``Consent.blurred``); the gateway then blurs every view. The operator who is looking
may switch to the clear picture for the rest of that one view, with one click and a
reason from a short list. The switch is audited, kept on the grant, and shown in the
person's letter "who looked at me".
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.records import record
from cameras import gateway_client, gateways
from cameras.actions import AccessRefused, audited_refusals
from cameras.models import ClearPictureReason, ViewGrant
from nattillsyn import clock
from people.actions import ActionRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)


@audited_refusals
def show_clear_picture(grant: ViewGrant, *, actor: User, reason: str, ip: str | None = None) -> ViewGrant:
    """Switch the operator's own live, blurred view to the clear picture for the rest of it."""
    if reason not in ClearPictureReason.values:
        raise ActionRefused(_("Choose why the clear picture is needed."))
    grant = ViewGrant.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=grant.pk)
    refusal = _refusal(grant, actor)
    if refusal is not None:
        reason_code, message = refusal
        raise AccessRefused(
            message,
            reason=reason_code,
            actor=actor,
            tenant=grant.tenant_id,
            person=grant.person_id,
            obj=grant,
            ip=ip,
            action=AuditAction.CLEAR_PICTURE_SHOWN,
            detail={"refused": True, "asked_reason": reason, "gid": str(grant.gid)},
        )
    if grant.clear_picture_at is not None:
        return grant  # already clear: one click is one entry
    grant.clear_picture_at = clock.now()
    grant.clear_picture_reason = reason
    grant.save(update_fields=["clear_picture_at", "clear_picture_reason"])
    record(
        actor=actor,
        action=AuditAction.CLEAR_PICTURE_SHOWN,
        tenant=grant.tenant_id,
        person=grant.person_id,
        obj=grant,
        ip=ip,
        detail={"reason": reason, "gid": str(grant.gid), "camera": grant.camera_id, "purpose": grant.purpose},
    )
    gid, gateway_url = str(grant.gid), gateways.route_for_grant(grant).internal_url
    transaction.on_commit(lambda: _tell_gateway(gid, gateway_url))
    return grant


def _refusal(grant: ViewGrant, actor: User) -> tuple[str, str] | None:
    if grant.operator_id != actor.pk:
        return "not_your_view", _("Only the operator who is looking can switch to the clear picture.")
    if not grant.blurred:
        return "not_blurred", _("This view is not blurred.")
    live = grant.redeemed_at is not None and grant.ended_at is None and grant.revoked_at is None
    if not live or clock.now() >= grant.hard_end:
        return "view_not_live", _("The view has ended. The clear picture can only be shown during a view.")
    return None


def _tell_gateway(gid: str, gateway_url: str) -> None:
    try:
        gateway_client.unblur(gid, base_url=gateway_url)
    except (OSError, ValueError) as exc:  # the operator still sees the blurred picture, and can ask again
        log.warning("gateway unblur of %s failed: %s", gid, exc)
