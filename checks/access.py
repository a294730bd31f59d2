"""The one way views get checks, attempts, escalations and alarms."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.access import RefusalReason, not_found, refused, require_role
from accounts.models import Role
from checks.models import Alarm, Attempt, CameraConcern, Check, Escalation


def get_check_for_operator(request: HttpRequest, check_id: int) -> Check:
    tenant_ids = require_role(request.user, Role.OPERATOR, kind="Check", object_id=check_id)
    check = Check.objects.select_related("person", "tenant").filter(id=check_id, tenant_id__in=tenant_ids).first()
    if check is None:
        raise not_found("Check", check_id, Check.objects.filter(id=check_id))
    return check


def get_attempt_for_operator(request: HttpRequest, attempt_id: int) -> Attempt:
    tenant_ids = require_role(request.user, Role.OPERATOR, kind="Attempt", object_id=attempt_id)
    attempt = (
        Attempt.objects.select_related("night_check__person", "night_check__tenant")
        .filter(id=attempt_id, night_check__tenant_id__in=tenant_ids, operator_id=request.user.pk)
        .first()
    )
    if attempt is None:
        if Attempt.objects.filter(id=attempt_id, night_check__tenant_id__in=tenant_ids).exists():
            raise refused(Http404, RefusalReason.NOT_OWN, "Attempt", attempt_id)
        raise not_found("Attempt", attempt_id, Attempt.objects.filter(id=attempt_id))
    return attempt


def get_escalation_for_patrol(request: HttpRequest, escalation_id: int) -> Escalation:
    tenant_ids = require_role(request.user, Role.PATROL, Role.SHIFT_LEAD, kind="Escalation", object_id=escalation_id)
    escalation = (
        Escalation.objects.select_related("person", "night_check")
        .filter(id=escalation_id, tenant_id__in=tenant_ids)
        .first()
    )
    if escalation is None:
        raise not_found("Escalation", escalation_id, Escalation.objects.filter(id=escalation_id))
    return escalation


def get_alarm_for_lead(request: HttpRequest, alarm_id: int) -> Alarm:
    tenant_ids = require_role(request.user, Role.SHIFT_LEAD, kind="Alarm", object_id=alarm_id)
    alarm = Alarm.objects.filter(id=alarm_id, tenant_id__in=tenant_ids).first()
    if alarm is None:
        raise not_found("Alarm", alarm_id, Alarm.objects.filter(id=alarm_id))
    return alarm


def get_camera_concern_for_user(request: HttpRequest, concern_id: int, *roles: str) -> CameraConcern:
    tenant_ids = require_role(request.user, *roles, kind="CameraConcern", object_id=concern_id)
    concern = (
        CameraConcern.objects.select_related("person", "tenant").filter(id=concern_id, tenant_id__in=tenant_ids).first()
    )
    if concern is None:
        raise not_found("CameraConcern", concern_id, CameraConcern.objects.filter(id=concern_id))
    return concern
