"""What Prometheus scrapes from the control plane: the state of tonight, read from the database.

Every figure is computed at scrape time from the rows themselves, so two web processes
answer the same and a restart loses nothing. Labels are municipalities (their slug),
states, reasons and worker names: never a person, a user or a camera name (no personal
data leaves through monitoring). The worker and the gateway expose their own process
figures (tick time, first-frame time) on their own endpoints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Min
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from accounts.models import Tenant
from audit.models import AuditAction, AuditEntry
from cameras.models import Camera, Gateway
from checks.models import (
    Alarm,
    Attempt,
    Check,
    CheckForm,
    CheckState,
    Escalation,
    EscalationState,
    NightReconciliation,
    WorkerHeartbeat,
)
from checks.nights import night_of
from checks.overdue import overdue_at
from nattillsyn import clock

# From due to opened: the goal is within the overdue grace (default 10 min); the buckets
# show how far inside it the night runs.
OPEN_DELAY_BUCKETS_S = (30, 60, 120, 300, 600, 900, 1800)
RECENT = timedelta(hours=1)  # the window of the "recent" figures (open delay, refusals)
REASON_CODE = re.compile(r"[a-z][a-z_]{0,39}")
REFUSAL_ACTIONS = (AuditAction.GRANT_REFUSED, AuditAction.ACCESS_REFUSED, AuditAction.OUTCOME_REFUSED)


def _reason_label(reason: object) -> str:
    """A refusal's reason code as a label; anything else (free text) folds into "other",
    so a label can neither carry personal data nor grow without bound."""
    text = str(reason or "")
    return text if REASON_CODE.fullmatch(text) else "other"


class ControlPlaneCollector(Collector):
    """One scrape: a handful of grouped queries, independent of how many checks there are."""

    def collect(self) -> Iterator[Metric]:
        now = clock.now()
        slugs = dict(Tenant.objects.values_list("id", "slug"))
        yield from self._checks(now, slugs)
        yield self._open_delay(now, slugs)
        yield self._per_tenant(
            "nattillsyn_camera_faults",
            "Cameras whose newest probe or test failed.",
            Camera.objects.filter(last_probe_ok=False, training_only=False).values("tenant_id"),
            slugs,
        )
        yield self._per_tenant(
            "nattillsyn_escalations_open",
            "Escalations not yet resolved by the night patrol.",
            Escalation.objects.exclude(state=EscalationState.RESOLVED).values("tenant_id"),
            slugs,
        )
        yield self._per_tenant(
            "nattillsyn_alarms_open",
            "Alarms to the shift lead not yet acknowledged.",
            Alarm.objects.filter(acknowledged_at__isnull=True).values("tenant_id"),
            slugs,
        )
        yield self._reconciliation_incidents(now, slugs)
        yield self._refusals(now)
        yield from self._worker(now)
        yield from self._gateways(now)
        yield from self._audit_export(now)

    def _checks(self, now: datetime, slugs: dict[int, str]) -> Iterator[Metric]:
        tonight = night_of(now)
        states = GaugeMetricFamily("nattillsyn_checks", "Tonight's checks by state.", labels=["tenant", "state"])
        for row in Check.objects.filter(night=tonight).values("tenant_id", "state").annotate(n=Count("id")):
            states.add_metric([slugs[row["tenant_id"]], row["state"]], row["n"])
        yield states
        overdue = GaugeMetricFamily(
            "nattillsyn_checks_overdue",
            "Camera checks due longer than the municipality's grace and not opened.",
            labels=["tenant"],
        )
        grace = dict(Tenant.objects.values_list("id", "overdue_grace_min"))
        counts: dict[int, int] = {}
        for tenant_id, due_at in Check.objects.filter(
            state=CheckState.DUE, form=CheckForm.CAMERA, due_at__lte=now
        ).values_list("tenant_id", "due_at"):
            if due_at is not None and overdue_at(due_at, grace[tenant_id]) <= now:
                counts[tenant_id] = counts.get(tenant_id, 0) + 1
        for tenant_id, slug in slugs.items():
            overdue.add_metric([slug], counts.get(tenant_id, 0))
        yield overdue
        lag = GaugeMetricFamily(
            "nattillsyn_worker_lag_seconds",
            "How long the oldest check whose time has come still waits to be made due (0: none).",
        )
        oldest = Check.objects.filter(state=CheckState.PLANNED, scheduled_at__lte=now).aggregate(t=Min("scheduled_at"))
        lag.add_metric([], (now - oldest["t"]).total_seconds() if oldest["t"] else 0.0)
        yield lag

    def _open_delay(self, now: datetime, slugs: dict[int, str]) -> Metric:
        """From due to the first opening, for checks first opened in the last hour."""
        family = GaugeHistogramMetricFamily(
            "nattillsyn_check_open_delay_seconds",
            "Time from due to opened, checks first opened in the last hour.",
            labels=["tenant"],
        )
        delays: dict[int, list[float]] = {tenant_id: [] for tenant_id in slugs}
        first_openings = (
            Attempt.objects.filter(opened_at__gte=now - RECENT, night_check__due_at__isnull=False)
            .values("night_check_id", "night_check__tenant_id", due=F("night_check__due_at"))
            .annotate(first=Min("opened_at"))
        )
        for row in first_openings:
            delays[row["night_check__tenant_id"]].append(max(0.0, (row["first"] - row["due"]).total_seconds()))
        for tenant_id, values in delays.items():
            buckets = [(str(float(b)), sum(1 for v in values if v <= b)) for b in OPEN_DELAY_BUCKETS_S]
            buckets.append(("+Inf", len(values)))
            family.add_metric([slugs[tenant_id]], buckets, sum(values))
        return family

    def _per_tenant(self, name: str, documentation: str, rows: object, slugs: dict[int, str]) -> Metric:
        family = GaugeMetricFamily(name, documentation, labels=["tenant"])
        counts = {row["tenant_id"]: row["n"] for row in rows.annotate(n=Count("tenant_id"))}  # type: ignore[attr-defined]
        for tenant_id, slug in slugs.items():
            family.add_metric([slug], counts.get(tenant_id, 0))
        return family

    def _reconciliation_incidents(self, now: datetime, slugs: dict[int, str]) -> Metric:
        family = GaugeMetricFamily(
            "nattillsyn_reconciliation_incidents",
            "Checks of last night that did not end as they should (the morning reconciliation).",
            labels=["tenant"],
        )
        last_night = night_of(now) - timedelta(days=1)
        found = dict(
            NightReconciliation.objects.filter(night=last_night).values_list("tenant_id", "incident_check_ids")
        )
        for tenant_id, slug in slugs.items():
            family.add_metric([slug], len(found.get(tenant_id) or []))
        return family

    def _refusals(self, now: datetime) -> Metric:
        family = GaugeMetricFamily(
            "nattillsyn_refusals_recent",
            "Refusals written to the audit log in the last hour, by action and reason.",
            labels=["action", "reason"],
        )
        rows = (
            AuditEntry.objects.filter(action__in=REFUSAL_ACTIONS, at__gte=now - RECENT)
            .values("action", "detail__reason")
            .annotate(n=Count("id"))
        )
        counts: dict[tuple[str, str], int] = {}
        for row in rows:
            key = (row["action"], _reason_label(row["detail__reason"]))
            counts[key] = counts.get(key, 0) + row["n"]
        for (action, reason), n in counts.items():
            family.add_metric([action, reason], n)
        return family

    def _worker(self, now: datetime) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "nattillsyn_worker_last_tick_age_seconds", "Seconds since each worker's last tick.", labels=["worker"]
        )
        for name, last_seen in WorkerHeartbeat.objects.filter(last_seen__gte=now - timedelta(days=1)).values_list(
            "name", "last_seen"
        ):
            family.add_metric([name], max(0.0, (now - last_seen).total_seconds()))
        yield family

    def _gateways(self, now: datetime) -> Iterator[Metric]:
        """The listed gateways' heartbeats (cameras/gateways.py): one silent past
        NATTILLSYN_GATEWAY_HEARTBEAT_TIMEOUT_S gets no new views; +Inf: never heard, or
        reported lost by a browser and found dead."""
        family = GaugeMetricFamily(
            "nattillsyn_gateway_heartbeat_age_seconds",
            "Seconds since each listed camera gateway's last heartbeat.",
            labels=["gateway", "site", "role"],
        )
        for gateway_id, site, standby, seen in Gateway.objects.values_list(
            "gateway_id", "site", "standby", "last_seen_at"
        ):
            age = float("inf") if seen is None else max(0.0, (now - seen).total_seconds())
            family.add_metric([gateway_id, site, "standby" if standby else "primary"], age)
        yield family

    def _audit_export(self, now: datetime) -> Iterator[Metric]:
        path = settings.AUDIT_HEAD_EXPORT_PATH
        if not path:
            return
        family = GaugeMetricFamily(
            "nattillsyn_audit_head_export_age_seconds",
            "Seconds since the audit chain's head was last written to its append-only file.",
        )
        try:
            age = now.timestamp() - os.stat(path).st_mtime
        except OSError:
            age = float("inf")
        family.add_metric([], age)
        yield family
