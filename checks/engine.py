"""The worker's work, one tick at a time.

Each step claims a batch of rows with ``SELECT … FOR UPDATE SKIP LOCKED`` inside a
transaction and moves each claimed row through one action; several workers on
PostgreSQL therefore never handle the same row twice. SQLite ignores the row
locks, and the embedded setup runs one worker, so the same code path serves both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Tenant
from cameras.actions import close_views_past_their_end
from cameras.models import ViewGrant
from checks import actions
from checks.models import Check, CheckForm, CheckState, Escalation, EscalationState, WorkerHeartbeat
from checks.nights import night_of

log = logging.getLogger(__name__)

BATCH = 200
# An opened check whose grant ended this long ago without an outcome is released.
ABANDONED_AFTER = timedelta(minutes=2)


@dataclass
class TickReport:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, step: str, count: int) -> None:
        if count:
            self.counts[step] = self.counts.get(step, 0) + count


def _claim_each(queryset: QuerySet[Check] | QuerySet[Escalation], handle: Callable[..., None]) -> int:
    """Claim up to BATCH rows and handle each inside the claiming transaction."""
    with transaction.atomic():
        rows = list(queryset.select_for_update(skip_locked=True, of=("self",))[:BATCH])
        for row in rows:
            handle(row)
    return len(rows)


class NightWorker:
    def __init__(self, name: str) -> None:
        self.name = name

    def tick(self, now: datetime) -> TickReport:
        report = TickReport()
        report.add("planned", self.plan_nights(now))
        report.add("due", _claim_each(
            Check.objects.filter(state=CheckState.PLANNED, scheduled_at__lte=now).select_related(
                "person__agreement"),
            lambda check: actions.make_due(check, now)))
        report.add("retry_due", _claim_each(
            Check.objects.filter(state=CheckState.RETRY_WAIT, next_attempt_at__lte=now),
            lambda check: actions.make_retry_due(check, now)))
        report.add("released", _claim_each(
            Check.objects.filter(state=CheckState.IN_PROGRESS).exclude(
                id__in=ViewGrant.objects.filter(
                    attempt__night_check__state=CheckState.IN_PROGRESS,
                    attempt__outcome="", hard_end__gt=now - ABANDONED_AFTER,
                ).values("attempt__night_check_id")),
            actions.release_abandoned_attempt))
        report.add("missed", _claim_each(
            Check.objects.filter(state__in=(CheckState.DUE, CheckState.RETRY_WAIT),
                                 window_ends_at__lte=now).select_related("person__agreement"),
            actions.escalate_missed))
        report.add("overdue_alarms", self.raise_overdue_alarms(now))
        report.add("unacknowledged_alarms", self.raise_unacknowledged_alarms(now))
        report.add("returned_to_privacy", close_views_past_their_end(now))
        WorkerHeartbeat.objects.update_or_create(name=self.name, defaults={"last_seen": now})
        return report

    def plan_nights(self, now: datetime) -> int:
        """Tonight and tomorrow night, so the console shows what is coming."""
        tonight = night_of(now)
        planned = 0
        for tenant in Tenant.objects.all():
            for night in (tonight, tonight + timedelta(days=1)):
                planned += actions.plan_night(tenant, night, now=now)
        return planned

    def raise_overdue_alarms(self, now: datetime) -> int:
        total = 0
        for tenant in Tenant.objects.all():
            overdue = Check.objects.filter(
                tenant=tenant, state=CheckState.DUE, form=CheckForm.CAMERA, overdue_alarm_raised=False,
                due_at__lte=now - timedelta(minutes=tenant.overdue_grace_min),
            )
            total += _claim_each(overdue, actions.raise_overdue_alarm)
        return total

    def raise_unacknowledged_alarms(self, now: datetime) -> int:
        total = 0
        for tenant in Tenant.objects.all():
            waiting = Escalation.objects.filter(
                tenant=tenant, state=EscalationState.OPEN, ack_alarm_raised=False,
                created_at__lte=now - timedelta(minutes=tenant.escalation_ack_min),
            )
            total += _claim_each(waiting, actions.raise_unacknowledged_alarm)
        return total


