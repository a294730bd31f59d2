"""The privacy position as a controlled state: one reconciler drives every camera that no
grant covers back to its privacy position, and verifies it there.

Why a reconciler and not only "close when the grant ends": a camera can be out of its
privacy position for reasons no grant explains (it started that way, it was re-pointed,
someone moved it, a worker died between the view and the return). So the worker asks
every camera, of every municipality, on a period, and right after a grant ends:

1. A camera is *due* when some grant took it out and nothing covers it any more (at once),
   or when it was last verified more than ``VERIFY_EVERY`` ago (or never).
2. A worker *leases* a due camera with a conditional update of ``privacy_lease_until``
   (PostgreSQL re-checks the condition on the locked row), so two workers never drive
   the same camera; the lease outlives a dead worker by at most ``LEASE``.
3. It asks the camera's driver where it faces (``status``); out of privacy, it sends it
   back (``close_view``) and asks again, up to ``ATTEMPTS`` times.
4. Verified: ``privacy_verified_at`` is stamped. Found facing the bed without a grant
   that explains it: audited as a camera fault that was corrected. Not verified: the
   caller raises a camera fault, and the lease keeps the camera for ``RETRY_AFTER_FAILURE``
   before it is tried again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Exists, F, OuterRef, Q

from audit.models import AuditAction
from audit.records import record
from cameras.drivers import CameraDriver, driver_for
from cameras.models import Camera, CameraProblem, ViewGrant
from nattillsyn import clock

log = logging.getLogger(__name__)

# A camera in privacy is asked again this often (one status call, two HTTP requests for
# a simulated camera); this is also the longest a camera moved by hand stays unnoticed.
VERIFY_EVERY = timedelta(seconds=30)
# Longer than one camera's worst case (status, three closes and statuses, 2 s timeouts).
LEASE = timedelta(seconds=20)
RETRY_AFTER_FAILURE = timedelta(seconds=10)
ATTEMPTS = 3
CAMERAS_PER_TICK = 200
BUDGET_S = 5.0

DriverFor = Callable[[Camera], CameraDriver]


def covering_grants(now: datetime) -> Any:
    """The grants that may keep a camera out of its privacy position at ``now``: not
    revoked, not ended, before their hard end, and either started or still startable.
    The one statement of the privacy rule; everything that moves a camera asks it."""
    return ViewGrant.objects.filter(revoked_at__isnull=True, ended_at__isnull=True, hard_end__gt=now).filter(
        Q(redeemed_at__isnull=False) | Q(start_by__gt=now)
    )


def record_privacy_restored(camera: Camera) -> None:
    """A camera was found out of its privacy position with nothing that explains it."""
    record(
        actor=None,
        action=AuditAction.CAMERA_FAULT,
        tenant=camera.tenant_id,
        person=camera.person_id,
        obj=camera,
        detail={"problem": "out_of_privacy_position", "restored": True},
    )


@dataclass(frozen=True)
class Driven:
    """What driving a camera to its privacy position came to."""

    verified: bool  # the camera says it is there (or has no privacy position to drive)
    moved: bool  # it had to be sent there
    problem: str = ""  # not verified: the camera's own problem (unreachable, router down) or privacy_not_reached


def drive_to_privacy(driver: CameraDriver) -> Driven:
    """Send the camera to its privacy position until it says it is there, ATTEMPTS times.

    A driver that cannot move a camera (no privacy position; the installer was told to
    fit a cover) counts as verified: there is nothing to drive. A camera that cannot tell
    where it faces after a close is not verified.
    """
    if not driver.supports_privacy:
        return Driven(True, False)
    status = driver.status()
    if status.in_privacy_position is True:
        return Driven(True, False)
    for _attempt in range(ATTEMPTS):
        driver.close_view()
        status = driver.status()
        if status.in_privacy_position is True:
            return Driven(True, True)
    return Driven(False, True, status.problem or CameraProblem.PRIVACY_NOT_REACHED)


@dataclass
class PrivacyReport:
    verified: int = 0
    returned: int = 0  # moved back after a grant ended
    corrected: int = 0  # found out of privacy with nothing that explains it
    failed: list[tuple[Camera, str]] = field(default_factory=list)  # with the problem found


def cameras_due(now: datetime) -> Any:
    """Cameras nothing covers that must be asked now: a grant ended (first), or the last
    verification is older than VERIFY_EVERY; none leased by another worker."""
    returns_pending = ViewGrant.objects.filter(camera_id=OuterRef("id"), camera_returned_to_privacy=False)
    return (
        Camera.objects.exclude(id__in=covering_grants(now).values("camera_id"))
        .annotate(returns_pending=Exists(returns_pending))
        .filter(
            Q(returns_pending=True)
            | Q(privacy_verified_at__isnull=True)
            | Q(privacy_verified_at__lte=now - VERIFY_EVERY)
        )
        .filter(Q(privacy_lease_until__isnull=True) | Q(privacy_lease_until__lte=now))
        .select_related("tenant")
        .order_by("-returns_pending", F("privacy_verified_at").asc(nulls_first=True), "id")
    )


def reconcile_privacy(
    now: datetime, *, driver_for: DriverFor = driver_for, budget_s: float = BUDGET_S
) -> PrivacyReport:
    """One pass of the reconciler over every camera that is due (module docstring)."""
    report = PrivacyReport()
    started = time.monotonic()
    for camera in list(cameras_due(now)[:CAMERAS_PER_TICK]):
        if time.monotonic() - started >= budget_s:
            break  # the next tick takes the rest, longest unverified first
        pending: bool = camera.returns_pending  # type: ignore[attr-defined]  # annotated by cameras_due
        # Free, and not verified by another worker since the query (filter(x=None) is IS NULL).
        free = Q(privacy_lease_until__isnull=True) | Q(privacy_lease_until__lte=now)
        unchanged = Q(privacy_verified_at=camera.privacy_verified_at)
        if not Camera.objects.filter(free, unchanged, id=camera.id).update(privacy_lease_until=now + LEASE):
            continue  # another worker has it, or had it
        try:
            driven = _reconcile_one(camera, driver_for(camera), now, returning=pending)
        except (OperationalError, InterfaceError):
            raise  # the database is gone: the loop reconnects; the lease runs out by itself
        except Exception:
            log.exception("camera %s: privacy not verified", camera.id)
            driven = Driven(False, False, CameraProblem.PRIVACY_NOT_REACHED)
        if not driven.verified:
            report.failed.append((camera, driven.problem))
            continue
        report.verified += 1
        if driven.moved and pending:
            report.returned += 1
        elif driven.moved:
            report.corrected += 1
    return report


def _reconcile_one(camera: Camera, driver: CameraDriver, now: datetime, *, returning: bool) -> Driven:
    """``returning``: a grant ended, so finding the camera out is expected, not a finding."""
    if covering_grants(clock.now()).filter(camera=camera).exists():
        # A grant came between the query and the lease: the camera is rightly out.
        Camera.objects.filter(id=camera.id).update(privacy_lease_until=None)
        return Driven(True, False)
    driven = drive_to_privacy(driver)
    with transaction.atomic():
        if not driven.verified:
            Camera.objects.filter(id=camera.id).update(privacy_lease_until=now + RETRY_AFTER_FAILURE)
            return driven
        # Verified for the device it was pointed at when leased: re-pointed meanwhile, the
        # new device is not verified by this (save_camera cleared the stamp for it).
        same_device = Camera.objects.filter(id=camera.id, stream_url=camera.stream_url, driver=camera.driver)
        if not same_device.update(privacy_verified_at=now, privacy_lease_until=None):
            Camera.objects.filter(id=camera.id).update(privacy_lease_until=None)
            return driven
        ViewGrant.objects.filter(camera=camera, camera_returned_to_privacy=False, issued_at__lte=now).update(
            camera_returned_to_privacy=True
        )
        if driven.moved and not returning:
            record_privacy_restored(camera)
    if driven.moved and covering_grants(clock.now()).filter(camera=camera).exists():
        # An operator opened the camera while it was being closed: give the view back
        # (issue_grant did not move it, it saw the camera as out already or raced us).
        driver.open_view()
    return driven


def return_old_device_to_privacy(old: Camera) -> bool:
    """Before a camera is re-pointed (address, device or driver): the device it pointed
    at until now goes back to its privacy position, with the driver built from the old
    values. True if verified there."""
    try:
        return drive_to_privacy(driver_for(old)).verified
    except Exception:
        log.exception("camera %s: the old device's privacy not verified", old.id)
        return False
