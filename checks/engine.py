"""The worker's work, one tick at a time.

Each step claims a batch of rows with ``SELECT … FOR UPDATE SKIP LOCKED`` inside a
transaction and moves each claimed row through one action; several workers on
PostgreSQL therefore never handle the same row twice. SQLite ignores the row
locks, and the embedded setup runs one worker, so the same code path serves both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from accounts.models import Tenant
from audit.records import enforce_retention, export_head, lock_chain
from audit.refusals import flush_folded_refusals
from cameras.actions import close_views_past_their_end
from cameras.health import ProbeResult
from cameras.models import Camera
from cameras.privacy import DriverFor, reconcile_privacy
from checks import actions, covered_actions
from checks.models import Check, CheckForm, CheckState, Escalation, EscalationState, NightPlan, WorkerHeartbeat
from checks.nights import night_of
from checks.overdue import overdue_checks
from checks.reconcile import reconcile_finished_nights
from reports.tally import tally_recent_nights

log = logging.getLogger(__name__)

BATCH = 200
# Cameras with a check this close are probed, so a fault is found before the check.
PROBE_HORIZON = timedelta(minutes=30)
PROBE_EVERY = timedelta(minutes=10)
# A failed probe is repeated soon, to confirm or clear the fault.
PROBE_RETRY_AFTER_FAILURE = timedelta(minutes=1)
# Every camera check is preceded by a probe this long before it, however recent the last
# routine one: a camera failing in the ten minutes before its check would otherwise be
# found only after the check is due (two failed probes make a fault, a minute apart).
PRE_CHECK_PROBE = timedelta(minutes=5)
PROBES_PER_TICK = 5
# Seconds of probing per tick at most (a probe of a dead camera waits for its timeouts).
PROBE_BUDGET_S = 5.0
# Incremental planning looks this far behind the last plan (see plan_nights).
REPLAN_OVERLAP = timedelta(minutes=1)
# The audit chains' heads go to their append-only file this often (AUDIT_HEAD_EXPORT_PATH).
HEAD_EXPORT_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Claimed:
    """What one claiming step did."""

    handled: int = 0
    failed: int = 0
    # The step took a full batch: more may be waiting behind it.
    full: bool = False

    def __add__(self, other: Claimed) -> Claimed:
        return Claimed(self.handled + other.handled, self.failed + other.failed, self.full or other.full)


@dataclass
class TickReport:
    counts: dict[str, int] = field(default_factory=dict)
    # A step claimed a full batch: the loop ticks again at once instead of sleeping.
    backlog: bool = False
    # Rows whose action raised; each was rolled back alone and stays in the queue.
    failed: int = 0

    def add(self, step: str, count: int | Claimed) -> None:
        if isinstance(count, Claimed):
            self.backlog = self.backlog or count.full
            self.failed += count.failed
            count = count.handled
        if count:
            self.counts[step] = self.counts.get(step, 0) + count


def _claim_each(queryset: QuerySet[Check] | QuerySet[Escalation], handle: Callable[..., object]) -> Claimed:
    """Claim rows municipality by municipality, up to BATCH of each, and handle each
    inside the claiming transaction (_claim_batch).

    Every row's action writes to its municipality's audit chain, which stays locked to
    the end of the batch: a batch of one municipality's rows takes one chain. A chain
    that another worker (or an operator's request) holds is passed over at first and
    waited for after the others, so several workers drain several municipalities side
    by side instead of queueing behind one chain.
    """
    tenants = sorted(set(queryset.order_by().prefetch_related(None).values_list("tenant_id", flat=True).distinct()))
    total = Claimed()
    busy = []
    for tenant_id in tenants:
        claimed = _claim_batch(queryset.filter(tenant_id=tenant_id), handle, tenant_id, wait=False)
        if claimed is None:
            busy.append(tenant_id)
        else:
            total += claimed
    for tenant_id in busy:
        total += _claim_batch(queryset.filter(tenant_id=tenant_id), handle, tenant_id, wait=True) or Claimed()
    return total


def _claim_batch(
    queryset: QuerySet[Check] | QuerySet[Escalation], handle: Callable[..., object], tenant_id: int, *, wait: bool
) -> Claimed | None:
    """Lock the municipality's audit chain (None if ``wait`` is false and another holds
    it), claim up to BATCH of its rows and handle each inside the claiming transaction.

    The row lock is the lease: it lasts exactly as long as the transaction, so a worker
    that dies mid-batch (kill -9, lost connection) leaves nothing half done; PostgreSQL
    rolls the transaction back, the locks go with it and the rows are claimable again.
    Each row runs in a savepoint, so one row whose action raises (a bug, bad data) is
    logged and left in the queue without holding back the rest of the batch.
    """
    handled = failed = 0
    with transaction.atomic():
        if lock_chain(tenant_id, skip_locked=not wait) is None:
            return None
        rows = list(queryset.select_for_update(skip_locked=True, of=("self",))[:BATCH])
        for row in rows:
            try:
                with transaction.atomic():
                    handle(row)
                handled += 1
            except (OperationalError, InterfaceError):
                raise  # the connection is gone: the whole batch rolls back, the loop reconnects
            except Exception:
                failed += 1
                log.exception("%s %s: %s failed; left in the queue", type(row).__name__, row.pk, _name(handle))
    # A batch of nothing but failures is not a backlog: ticking again at once would spin.
    return Claimed(handled, failed, full=len(rows) >= BATCH and handled > 0)


def _name(handle: Callable[..., object]) -> str:
    return str(getattr(getattr(handle, "func", handle), "__name__", repr(handle)))


CameraProber = Callable[[Camera], ProbeResult]


class NightWorker:
    def __init__(
        self, name: str, camera_prober: CameraProber | None = None, privacy_driver: DriverFor | None = None
    ) -> None:
        """``camera_prober`` is the network probe (cameras.health.probe_camera) and
        ``privacy_driver`` the camera drivers (cameras.drivers.driver_for) in the real
        worker; tests give fakes, or None to leave cameras alone (then only cameras whose
        grant ended are sent back, unverified, as ``close_views_past_their_end`` does)."""
        self.name = name
        self.camera_prober = camera_prober
        self.privacy_driver = privacy_driver
        self.head_exported_at: datetime | None = None

    def tick(self, now: datetime) -> TickReport:
        report = TickReport()
        report.add("planned", self.plan_nights(now))
        report.add(
            "due",
            _claim_each(
                Check.objects.filter(state=CheckState.PLANNED, scheduled_at__lte=now)
                .select_related("person__agreement", "person__camera", "agreed_time")
                .prefetch_related("person__consents", "person__decisions", "person__camera__installation_tests"),
                partial(actions.make_due, now=now),
            ),
        )
        report.add(
            "retry_due",
            _claim_each(
                Check.objects.filter(state=CheckState.RETRY_WAIT, next_attempt_at__lte=now),
                partial(actions.make_retry_due, now=now),
            ),
        )
        report.add(
            "released",
            _claim_each(
                # Only checks opened a while ago can have been abandoned (actions.attempt_held_until).
                Check.objects.filter(state=CheckState.IN_PROGRESS)
                .exclude(attempts__opened_at__gt=now - actions.UNSTARTED_HOLD)
                .select_related("tenant"),
                partial(actions.release_abandoned_attempt, now=now),
            ),
        )
        report.add(
            "preparations_ended",
            actions.end_preparations(actions.preparations_no_longer_wanted(now), reason="not_needed"),
        )
        report.add(
            "prepared",
            _claim_each(
                Check.objects.filter(id__in=actions.checks_to_prepare(now), state=CheckState.DUE)
                .select_related("person__camera__tenant", "tenant")
                .prefetch_related("person__consents", "person__decisions", "person__camera__installation_tests"),
                partial(actions.prepare_check, now=now),
            ),
        )
        report.add(
            "missed",
            _claim_each(
                Check.objects.filter(
                    state__in=(CheckState.DUE, CheckState.RETRY_WAIT), window_ends_at__lte=now
                ).select_related("person__agreement"),
                actions.escalate_missed,
            ),
        )
        report.add("overdue_alarms", self.raise_overdue_alarms(now))
        report.add("unacknowledged_alarms", self.raise_unacknowledged_alarms(now))
        report.add("returned_to_privacy", self.guard_privacy(now))
        report.add("cameras_probed", self.probe_cameras_due_soon(now))
        tonight = night_of(now)
        reconciled = reconcile_finished_nights(now, [tonight - timedelta(days=1)])
        report.add("nights_reconciled", reconciled)
        if reconciled:  # once a day: tallies for the monthly report, and the audit log's retention
            report.add("nights_tallied", tally_recent_nights(now))
            report.add("audit_entries_expired", enforce_retention(now))
        report.add("audit_head_exported", self.export_audit_head(now))
        # Repeated refusals are folded into one entry per minute (audit.refusals): the
        # count of a series nobody repeats after its minute is written here.
        report.add("refusals_folded", flush_folded_refusals(now))
        WorkerHeartbeat.objects.update_or_create(name=self.name, defaults={"last_seen": now})
        return report

    def export_audit_head(self, now: datetime) -> int:
        """Hourly, when AUDIT_HEAD_EXPORT_PATH is set: every audit chain's head to the append-only file."""
        path = settings.AUDIT_HEAD_EXPORT_PATH
        if not path or (self.head_exported_at is not None and now - self.head_exported_at < HEAD_EXPORT_EVERY):
            return 0
        self.head_exported_at = now
        try:
            return 1 if export_head(path, now) else 0
        except OSError:
            log.exception("could not export the audit chains' heads to %s", path)
            return 0

    def plan_nights(self, now: datetime) -> int:
        """Tonight and tomorrow night, so the console shows what is coming.

        Each night is planned fully once, then only for persons whose agreement or
        decision changed since the last plan (cheap enough for every tick). One worker
        plans a tenant at a time: the others skip it for this tick instead of doing
        the same work twice.
        """
        tonight = night_of(now)
        planned = 0
        for tenant_id in Tenant.objects.values_list("id", flat=True):
            for night in (tonight, tonight + timedelta(days=1)):
                # One transaction per night: a full plan holds the municipality's audit chain
                # only from its CHECKS_PLANNED entry to its commit, not for the next night too.
                with transaction.atomic():
                    # FOR NO KEY UPDATE: other workers skip the tenant, while rows that merely
                    # reference it (checks, audit entries) can still be inserted.
                    tenant = (
                        Tenant.objects.select_for_update(skip_locked=True, no_key=True).filter(id=tenant_id).first()
                    )
                    if tenant is None:
                        break  # another worker is planning it right now
                    since = (
                        NightPlan.objects.filter(tenant=tenant, night=night)
                        .values_list("planned_at", flat=True)
                        .first()
                    )
                    # A change stamped before this tick but committed after the planning
                    # query (it waited on a lock) would otherwise fall between two plans.
                    planned += actions.plan_night(
                        tenant, night, now=now, changed_since=since - REPLAN_OVERLAP if since else None
                    )
                    NightPlan.objects.update_or_create(tenant=tenant, night=night, defaults={"planned_at": now})
        return planned

    def guard_privacy(self, now: datetime) -> int:
        """Every camera that no grant covers is verified in its privacy position
        (cameras/privacy.py: right after a grant ends, otherwise every 30 s); one that
        cannot be brought there is a failed probe, and two in a row a camera fault, with
        its checks escalated (``record_camera_probe``). Returns the cameras it had to move."""
        if self.privacy_driver is None:
            return close_views_past_their_end(now)
        result = reconcile_privacy(now, driver_for=self.privacy_driver)
        for camera, problem in result.failed:
            with transaction.atomic():
                covered_actions.record_camera_probe(camera, ok=False, problem=problem, now=now, horizon=PROBE_HORIZON)
        return result.returned + result.corrected

    def probe_cameras_due_soon(self, now: datetime) -> int:
        """Probe cameras whose person has a camera check within PROBE_HORIZON: every
        PROBE_EVERY, once more PRE_CHECK_PROBE before each camera check, and a minute
        after a failed probe.

        Each camera is claimed with a conditional update of ``last_probe_at``, so two
        workers never probe the same camera; the probe itself (seconds of network
        I/O) runs outside any transaction.
        """
        if self.camera_prober is None:
            return 0
        due_soon = Check.objects.filter(
            form=CheckForm.CAMERA,
            scheduled_at__lte=now + PROBE_HORIZON,
            state__in=(CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT),
        ).values("person_id")
        stale = (
            Q(last_probe_at__isnull=True)
            | Q(last_probe_at__lte=now - PROBE_EVERY)
            | Q(last_probe_ok=False, last_probe_at__lte=now - PROBE_RETRY_AFTER_FAILURE)
        )
        # A camera check (or its retry) at T within PRE_CHECK_PROBE, and no probe since T − PRE_CHECK_PROBE.
        probed_before_pre_check = ExpressionWrapper(
            OuterRef("last_probe_at") + PRE_CHECK_PROBE, output_field=DateTimeField()
        )
        pre_check_due = Exists(
            Check.objects.filter(person_id=OuterRef("person_id"), form=CheckForm.CAMERA).filter(
                Q(
                    state=CheckState.PLANNED,
                    scheduled_at__lte=now + PRE_CHECK_PROBE,
                    scheduled_at__gt=probed_before_pre_check,
                )
                | Q(
                    state=CheckState.RETRY_WAIT,
                    next_attempt_at__lte=now + PRE_CHECK_PROBE,
                    next_attempt_at__gt=probed_before_pre_check,
                )
            )
        )
        candidates = list(
            Camera.objects.annotate(pre_check=pre_check_due)
            .filter(stale | Q(pre_check=True), person_id__in=due_soon)
            .select_related("tenant")
            # Pre-check probes first: their checks are the nearest.
            .order_by("-pre_check", "id")[:PROBES_PER_TICK]
        )
        probed = 0
        started = time.monotonic()
        for camera in candidates:
            if time.monotonic() - started > PROBE_BUDGET_S:
                break  # slow cameras must not hold up the next tick's due checks
            # filter(last_probe_at=None) is IS NULL, so a never-probed camera is claimed too.
            claimed = Camera.objects.filter(id=camera.id, last_probe_at=camera.last_probe_at).update(last_probe_at=now)
            if not claimed:
                continue
            result = self.camera_prober(camera)
            covered_actions.record_camera_probe(
                camera, ok=result.ok, problem=result.problem, now=now, horizon=PROBE_HORIZON
            )
            probed += 1
        return probed

    def raise_overdue_alarms(self, now: datetime) -> Claimed:
        total = Claimed()
        for tenant in Tenant.objects.all():
            overdue = Check.objects.filter(
                overdue_checks(tenant.overdue_grace_min, now), tenant=tenant, overdue_alarm_raised=False
            )
            total += _claim_each(overdue, actions.raise_overdue_alarm)
        return total

    def raise_unacknowledged_alarms(self, now: datetime) -> Claimed:
        total = Claimed()
        for tenant in Tenant.objects.all():
            waiting = Escalation.objects.filter(
                tenant=tenant,
                state=EscalationState.OPEN,
                ack_alarm_raised=False,
                created_at__lte=now - timedelta(minutes=tenant.escalation_ack_min),
            )
            total += _claim_each(waiting, actions.raise_unacknowledged_alarm)
        return total
