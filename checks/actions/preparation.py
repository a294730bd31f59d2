"""Readying cameras before the click."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from cameras.actions import covering_grants, issue_grant, revoke_grants
from cameras.gateways import Router
from cameras.models import GrantPurpose, ViewGrant
from cameras.policy import view_permission
from checks.models import Check, CheckForm, CheckState, ConsolePresence
from gateway.grants import Purpose

# The first settings.PREPARE_AHEAD due checks of a municipality have their cameras
# pulled by the gateway before anyone clicks, so the picture starts from the camera's
# newest keyframe at once instead of waiting up to a keyframe interval (and a pan/tilt
# camera's 1–3 s move) after the click.
# A preparation lasts at most this long (renewed while still wanted), never past the
# check's window, consent or decision.
PREPARATION_LEASE = timedelta(minutes=5)
PREPARATION_RENEW_BEFORE = timedelta(seconds=30)
# An operator's console polls every 5 s; one silent this long is closed.
CONSOLE_PRESENT = timedelta(seconds=30)


def note_console_open(tenant_ids: Iterable[int], now: datetime) -> None:
    """An operator's console of these municipalities is open (it just polled); one
    upsert, so a poll costs the same query whether the row exists or not."""
    ConsolePresence.objects.bulk_create(
        [ConsolePresence(tenant_id=tenant_id, last_seen=now) for tenant_id in tenant_ids],
        update_conflicts=True,
        unique_fields=["tenant"],
        update_fields=["last_seen"],
    )


def preparations_no_longer_wanted(now: datetime) -> Any:
    """Live preparations whose check is no longer due (opened, ended, waiting for its
    retry) or whose municipality has no console open."""
    present = ConsolePresence.objects.filter(last_seen__gte=now - CONSOLE_PRESENT).values("tenant_id")
    live = covering_grants(now).filter(purpose=GrantPurpose.PREPARE)
    unwanted = live.exclude(prepared_check__state=CheckState.DUE, tenant_id__in=present)
    return unwanted | live.filter(id__in=preparations_superseded(now))


def preparations_superseded(now: datetime) -> list[int]:
    """Preparations on a gateway a view would no longer go to (it died, or its site's
    primary is back) once the check is prepared again where it would: the camera is
    pulled by one gateway again, and never left uncovered in between."""
    router = Router(now)
    live = list(
        covering_grants(now)
        .filter(purpose=GrantPurpose.PREPARE)
        .values_list("id", "prepared_check_id", "gateway", "camera__site")
    )
    routed = {check_id for _id, check_id, gateway, site in live if router.route(site).gateway_id == gateway}
    return [
        grant_id
        for grant_id, check_id, gateway, site in live
        if check_id in routed and router.route(site).gateway_id != gateway
    ]


def checks_to_prepare(now: datetime) -> list[int]:
    """The first settings.PREPARE_AHEAD due camera checks of each municipality with a
    console open, that have no preparation lasting beyond the next renewal."""
    if settings.PREPARE_AHEAD <= 0:
        return []
    present = ConsolePresence.objects.filter(last_seen__gte=now - CONSOLE_PRESENT).values_list("tenant_id", flat=True)
    # A preparation counts only on the gateway the operator's view would go to now: one
    # held by a gateway that died (or one that a primary back from the dead now takes over
    # from its standby) readies nothing (cameras/gateways.py).
    router = Router(now)
    prepared = {
        check_id
        for check_id, gateway, site in covering_grants(now)
        .filter(purpose=GrantPurpose.PREPARE, hard_end__gt=now + PREPARATION_RENEW_BEFORE)
        .values_list("prepared_check_id", "gateway", "camera__site")
        if router.route(site).gateway_id == gateway
    }
    wanted: list[int] = []
    for tenant_id in present:
        first = Check.objects.filter(tenant_id=tenant_id, state=CheckState.DUE, form=CheckForm.CAMERA).order_by(
            "due_at", "scheduled_at", "id"
        )[: settings.PREPARE_AHEAD]
        wanted.extend(check_id for check_id in first.values_list("id", flat=True) if check_id not in prepared)
    return wanted


def prepare_check(check: Check, now: datetime) -> ViewGrant | None:
    """Ready the camera of a due check: out of its privacy position and pulled by the
    gateway, which holds the newest group of pictures and shows it to nobody until the
    operator's own grant is redeemed. Only inside what an open would allow now."""
    permission = view_permission(purpose=Purpose.PREPARE, moment=now, ip=None, check=check)
    if not permission.allowed:
        return None
    lease_end = now + PREPARATION_LEASE
    grant, _token = issue_grant(
        check.person.camera,
        actor=None,
        purpose=GrantPurpose.PREPARE,
        person=check.person,
        permission=permission,
        hard_end=lease_end,
        prepared_check=check,
    )
    return grant


def end_preparations(grants: Any, *, reason: str) -> int:
    return revoke_grants(grants, reason=reason)
