"""End-of-night reconciliation: did every check of the night end?"""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import Count

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from checks.actions.escalations import raise_alarm
from checks.models import OPEN_CHECK_STATES, AlarmKind, Check, NightReconciliation
from checks.nights import night_bounds


def night_is_over(night: date, now: datetime) -> bool:
    return now >= night_bounds(night)[1]


@transaction.atomic
def reconcile_night(tenant: Tenant, night: date, *, now: datetime) -> NightReconciliation:
    """Count the night's checks by end state; every open one is an incident and alarms
    the shift lead. Run again on demand, it updates the account (alarms are raised once)."""
    checks = Check.objects.filter(tenant=tenant, night=night)
    end_states = dict(checks.values_list("state").annotate(total=Count("id")).values_list("state", "total"))
    incidents = list(checks.filter(state__in=OPEN_CHECK_STATES).values_list("id", flat=True))
    existing = NightReconciliation.objects.select_for_update().filter(tenant=tenant, night=night).first()
    already_alarmed = set(existing.incident_check_ids) if existing else set()
    reconciliation, _created = NightReconciliation.objects.update_or_create(
        tenant=tenant,
        night=night,
        defaults={
            "made_at": now,
            "checks_total": sum(end_states.values()),
            "end_states": end_states,
            "incident_check_ids": incidents,
        },
    )
    for check in Check.objects.filter(id__in=set(incidents) - already_alarmed):
        raise_alarm(tenant.id, AlarmKind.UNENDED_CHECK, check=check)
    record(
        actor=None,
        action=AuditAction.NIGHT_RECONCILED,
        tenant=tenant,
        at=now,
        detail={
            "night": str(night),
            "checks": reconciliation.checks_total,
            "end_states": end_states,
            "incidents": incidents,
        },
    )
    return reconciliation


def reconcile_finished_nights(now: datetime, nights: list[date]) -> int:
    """Worker step: reconcile each given night that is over and not yet reconciled."""
    done = 0
    for tenant in Tenant.objects.all():
        for night in nights:
            if (
                night_is_over(night, now)
                and not NightReconciliation.objects.filter(tenant=tenant, night=night).exists()
            ):
                reconcile_night(tenant, night, now=now)
                done += 1
    return done
