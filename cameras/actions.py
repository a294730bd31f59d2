"""Every change to cameras and view grants goes through here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from cameras import gateway_client, gateways
from cameras.credentials import encrypt_password, stream_url_with_credentials
from cameras.drivers import driver_for
from cameras.models import Camera, GrantPurpose, InstallationBooking, InstallationTest, ViewGrant
from cameras.policy import ViewPermission, earliest, network_permission, start_refusal, view_permission
from cameras.privacy import covering_grants, return_old_device_to_privacy
from gateway.grants import Grant, Purpose, sign_grant
from nattillsyn import clock
from nattillsyn.errors import ActionRefused
from nattillsyn.net import normalise_ip
from people.models import Person
from people.rules import picture_blurred

if TYPE_CHECKING:
    from django.contrib.auth.models import User

P = ParamSpec("P")
R = TypeVar("R")


@transaction.atomic
def save_camera(
    camera: Camera | None, *, actor: User | None, tenant: Tenant, password: str | None = None, **fields: Any
) -> Camera:
    if camera is None:
        camera = Camera(tenant=tenant)
    elif camera.tenant_id != tenant.id:
        raise ActionRefused(_("The camera belongs to another municipality."))
    person = fields.get("person")
    if person is not None and person.tenant_id != tenant.id:
        raise ActionRefused(_("The person belongs to another municipality."))
    repointed = _repoint(camera, fields) if camera.pk else {}
    for name, value in fields.items():
        setattr(camera, name, value)
    if password:
        camera.password_encrypted = encrypt_password(password)
    if repointed:
        camera.privacy_verified_at = None  # the new device is asked at the reconciler's next pass
    if camera.pk is None:
        camera.save()
    else:
        # Only what changed here: the worker's columns (probes, the privacy lease) are its own.
        changed = [
            *fields,
            *(["password_encrypted"] if password else []),
            *(["privacy_verified_at"] if repointed else []),
        ]
        camera.save(update_fields=changed)
    record(
        actor=actor,
        action=AuditAction.CAMERA_CHANGED,
        tenant=tenant,
        person=camera.person_id,
        obj=camera,
        detail={"fields": sorted(fields), "password_changed": bool(password), **repointed},
    )
    return camera


# A camera pointed elsewhere by any of these is another device, maybe in another home.
DEVICE_FIELDS = ("stream_url", "driver")


def _repoint(camera: Camera, fields: dict[str, Any]) -> dict[str, Any]:
    """Before the camera points at another device: the old one goes back to its privacy
    position (driven with the old address and driver; the form may already have changed
    ``camera`` in memory, so the old values come from the database), and every open
    grant for the camera is revoked, so nothing keeps either device out of privacy.
    Returns what the audit entry should say about it (nothing if not re-pointed)."""
    old = Camera.objects.select_for_update().get(pk=camera.pk)
    changed = {name: (getattr(old, name), fields[name]) for name in DEVICE_FIELDS if name in fields}
    changed = {name: values for name, values in changed.items() if values[0] != values[1]}
    if not changed:
        return {}
    live = ViewGrant.objects.filter(camera=old, ended_at__isnull=True, hard_end__gt=clock.now())
    revoked = revoke_grants(live, reason="camera_repointed")
    verified = return_old_device_to_privacy(old)
    return {
        "repointed": {name: {"old": values[0], "new": values[1]} for name, values in changed.items()},
        "old_device_in_privacy": verified,
        "grants_revoked": revoked,
    }


@transaction.atomic
def record_installation_test(
    camera: Camera, *, actor: User, operator: Any, passed: bool, notes: str = ""
) -> InstallationTest:
    if camera.person_id is None:
        raise ActionRefused(_("Assign the camera to a person before the installation test."))
    test = InstallationTest.objects.create(
        camera=camera,
        person_id=camera.person_id,
        performed_at=clock.now(),
        installer=actor,
        operator=operator,
        passed=passed,
        notes=notes,
    )
    record(
        actor=actor,
        action=AuditAction.INSTALLATION_TEST,
        tenant=camera.tenant_id,
        person=camera.person_id,
        obj=test,
        detail={"passed": passed, "operator": operator.get_username(), "notes": notes},
    )
    return test


def camera_stream_for_gateway(camera: Camera) -> str:
    return stream_url_with_credentials(camera.stream_url, camera.username, camera.password_encrypted)


def camera_sub_stream_for_gateway(camera: Camera) -> str:
    """The sub stream with the camera's credentials, or empty when it has none."""
    if not camera.sub_stream_url:
        return ""
    return stream_url_with_credentials(camera.sub_stream_url, camera.username, camera.password_encrypted)


class AccessRefused(ActionRefused):
    """A camera view refused by the rules. The refusal itself is audited, although the
    transaction of the attempt that led to it is rolled back (see ``audited_refusals``)."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        actor: User | None,
        tenant: Any,
        person: Any,
        obj: Any,
        ip: str | None,
        action: str = AuditAction.GRANT_REFUSED,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.action = action
        self.detail = {"reason": reason, **(detail or {})}
        self.audit = {"actor": actor, "tenant": tenant, "person": person, "obj": obj, "ip": ip}

    def record(self) -> None:
        record(action=self.action, detail=self.detail, **self.audit)


def audited_refusals(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` in a transaction; when it refuses access, undo what it did but keep
    the refusal in the audit log (written after the rollback, in a transaction of its own)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except AccessRefused as refusal:
            with transaction.atomic():
                refusal.record()
            raise

    return wrapper


def refuse_unless_permitted(
    permission: ViewPermission, *, actor: User | None, tenant: Any, person: Any, obj: Any, ip: str | None
) -> None:
    """Raise the policy's refusal (audited, in Swedish) unless it permits the view."""
    if permission.refusal is not None:
        raise AccessRefused(
            permission.message, reason=permission.refusal, actor=actor, tenant=tenant, person=person, obj=obj, ip=ip
        )


class GrantLimits(NamedTuple):
    start_by: datetime  # the viewer must connect before this
    hard_end: datetime  # the gateway cuts the stream here, whatever happens
    view_s: int  # a view lasts at most this long from its first frame


def grant_limits(now: datetime, view_s: int, window_end: datetime | None) -> GrantLimits:
    """How long a grant issued ``now`` lets anyone look: never more than the hard limit
    of view time, and never past the end of the check's window."""
    view_s = min(view_s, settings.MAX_VIEW_HARD_LIMIT_S)
    start_by = now + timedelta(seconds=settings.GRANT_START_WINDOW_S)
    latest_end = start_by + timedelta(seconds=view_s + 5)
    hard_end = min(latest_end, window_end) if window_end else latest_end
    return GrantLimits(min(start_by, hard_end), hard_end, view_s)


@transaction.atomic
def issue_grant(
    camera: Camera,
    *,
    actor: User | None,
    purpose: str,
    person: Person | None,
    permission: ViewPermission,
    attempt: Any = None,
    hard_end: datetime | None = None,
    max_view_s: int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    prepared_check: Any = None,
) -> tuple[ViewGrant, str]:
    """Sign a single-use permission to view ``camera`` and ask the gateway to get ready.

    Only with the privacy policy's ``permission`` (``cameras.policy.view_permission``),
    which the grant carries out: it ends by the permission's ``until`` (and ``hard_end``,
    if earlier), and the gateway redeems it once. A preparation (the worker's, for a due
    check) is never redeemable and shows nobody anything.
    """
    if not permission.allowed:
        raise ValueError("a grant needs the privacy policy's permission")
    hard_end = earliest(hard_end, permission.until)
    now = clock.now()
    if purpose == GrantPurpose.PREPARE:
        if hard_end is None:
            raise ValueError("a preparation needs its end")
        limits = GrantLimits(hard_end, hard_end, 0)  # held until then at most; never viewed
    else:
        limits = grant_limits(now, max_view_s or camera.tenant.view_seconds, hard_end)
    route = gateways.route_for_camera(camera, now)
    grant_row = ViewGrant.objects.create(
        tenant_id=camera.tenant_id,
        camera=camera,
        person=person,
        attempt=attempt,
        operator=actor,
        purpose=purpose,
        prepared_check=prepared_check,
        issued_at=now,
        start_by=limits.start_by,
        hard_end=limits.hard_end,
        max_view_s=limits.view_s,
        issued_ip=ip,
        gateway=route.gateway_id,
    )
    token = grant_token(grant_row)
    # Where the view goes, and when the camera's own gateway was down, which one it skipped.
    served_by = {"gateway": route.gateway_id, **({"gateway_down": route.preferred} if route.preferred else {})}
    record(
        actor=actor,
        action=AuditAction.CAMERA_PREPARED if purpose == GrantPurpose.PREPARE else AuditAction.CHECK_OPENED,
        tenant=camera.tenant_id,
        person=person,
        obj=grant_row,
        ip=ip,
        detail={"purpose": purpose, "camera": camera.id, "gid": str(grant_row.gid), **served_by, **(detail or {})},
    )
    rtsp_url = camera_stream_for_gateway(camera)

    # A camera another grant already covers (the worker readied it for this check) is
    # out of its privacy position already: asking it again would only delay the picture.
    already_out = covering_grants(now).filter(camera=camera).exclude(pk=grant_row.pk).exists()

    def get_camera_ready() -> None:
        if not already_out:
            driver_for(camera).open_view()
        gateway_client.prepare(token, rtsp_url, base_url=route.internal_url)

    transaction.on_commit(get_camera_ready)
    return grant_row, token


def grant_token(grant: ViewGrant) -> str:
    """The signed form of a stored grant, for the browser to present to the gateway."""
    return sign_grant(
        Grant(
            gid=str(grant.gid),
            gateway=grant.gateway,
            tenant=grant.tenant_id,
            operator=grant.operator_id or 0,
            person=grant.person_id or 0,
            camera=grant.camera_id,
            check=grant.attempt.night_check_id if grant.attempt is not None else None,
            purpose=grant.purpose,
            issued_at=grant.issued_at.timestamp(),
            start_by=min(grant.start_by, grant.hard_end).timestamp(),
            hard_end=grant.hard_end.timestamp(),
            max_view_s=grant.max_view_s,
        ),
        settings.GRANT_KEY.encode(),
    )


@audited_refusals
def grant_token_for_viewer(grant: ViewGrant, *, actor: User | None, ip: str | None) -> str:
    """The signed grant for the operator's browser. The page that carries it can be
    loaded again while the grant is unused, from another network or with a stolen
    session, so the municipality's networks are asked again here, not only at the click."""
    refuse_unless_permitted(
        network_permission(grant.tenant, ip),
        actor=actor,
        tenant=grant.tenant_id,
        person=grant.person_id,
        obj=grant,
        ip=ip,
    )
    return grant_token(grant)


@audited_refusals
def open_training_view(camera: Camera, *, actor: User | None, ip: str | None = None) -> ViewGrant:
    """Operator training on a simulated camera that shows nobody."""
    permission = view_permission(camera=camera, purpose=Purpose.TRAINING, moment=clock.now(), ip=ip)
    refuse_unless_permitted(permission, actor=actor, tenant=camera.tenant_id, person=None, obj=camera, ip=ip)
    grant, _token = issue_grant(
        camera, actor=actor, purpose=GrantPurpose.TRAINING, person=None, permission=permission, ip=ip
    )
    return grant


# A booked installation slot is a visit, not an evening: the picture is possible only inside it.
INSTALLATION_SLOT_MAX = timedelta(hours=4)


@transaction.atomic
def book_installation(
    camera: Camera, *, actor: User, starts_at: datetime, ends_at: datetime, kind: str
) -> InstallationBooking:
    """The installer (or planner) books the slot of an installation or re-installation
    test with picture; the person's consent to it is recorded separately, beforehand."""
    if camera.person_id is None:
        raise ActionRefused(_("Assign the camera to a person before the installation test."))
    if ends_at <= starts_at:
        raise ActionRefused(_("The slot must end after it starts."))
    if ends_at - starts_at > INSTALLATION_SLOT_MAX:
        raise ActionRefused(_("A slot for an installation test is at most 4 hours."))
    now = clock.now()
    if ends_at <= now:
        raise ActionRefused(_("The slot has already ended."))
    booking = InstallationBooking.objects.create(
        tenant_id=camera.tenant_id,
        camera=camera,
        person_id=camera.person_id,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        booked_by=actor,
        booked_at=now,
    )
    record(
        actor=actor,
        action=AuditAction.CAMERA_CHANGED,
        tenant=camera.tenant_id,
        person=camera.person_id,
        obj=booking,
        detail={
            "installation_booked": {"kind": kind, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}
        },
    )
    return booking


@transaction.atomic
def record_installation_consent(
    booking: InstallationBooking, *, actor: User, given_by: str, method: str
) -> InstallationBooking:
    """The planner or case officer records the person's consent to this booked test,
    before it: who gave it, how, and (from the actor and the clock) who recorded it when."""
    booking = InstallationBooking.objects.select_for_update().get(pk=booking.pk)
    now = clock.now()
    if booking.ends_at <= now:
        raise ActionRefused(_("The slot has already ended."))
    if booking.consent_recorded_at is not None:
        raise ActionRefused(_("Consent to this installation test is already recorded."))
    if not given_by.strip():
        raise ActionRefused(_("Record who gave consent to the installation test."))
    booking.consent_given_by = given_by.strip()[:200]
    booking.consent_method = method
    booking.consent_recorded_by = actor
    booking.consent_recorded_at = now
    booking.save(update_fields=["consent_given_by", "consent_method", "consent_recorded_by", "consent_recorded_at"])
    record(
        actor=actor,
        action=AuditAction.CONSENT_GIVEN,
        tenant=booking.tenant_id,
        person=booking.person_id,
        obj=booking,
        detail={
            "scope": "installation_test",
            "booking": booking.id,
            "given_by": booking.consent_given_by,
            "method": method,
            "slot": [booking.starts_at.isoformat(), booking.ends_at.isoformat()],
        },
    )
    return booking


@audited_refusals
def open_installation_view(camera: Camera, *, actor: User | None, ip: str | None = None) -> ViewGrant:
    """A test with picture at installation or service: only inside a booked slot, with
    the person's consent to that test recorded beforehand, and never past the slot
    (``cameras.policy``)."""
    permission = view_permission(camera=camera, purpose=Purpose.INSTALL_TEST, moment=clock.now(), ip=ip)
    refuse_unless_permitted(
        permission, actor=actor, tenant=camera.tenant_id, person=camera.person_id, obj=camera, ip=ip
    )
    booking = permission.booking
    assert booking is not None  # a permitted installation view has its slot
    record(
        actor=actor,
        action=AuditAction.INSTALLATION_VIEW,
        tenant=camera.tenant_id,
        person=camera.person_id,
        obj=camera,
        ip=ip,
        detail={
            "booking": booking.id,
            "consent_given_by": booking.consent_given_by,
            "consent_recorded_by": booking.consent_recorded_by_id,
        },
    )
    grant, _token = issue_grant(
        camera,
        actor=actor,
        purpose=GrantPurpose.INSTALL_TEST,
        person=camera.person,
        permission=permission,
        ip=ip,
        detail={"booking": booking.id},
    )
    return grant


@transaction.atomic
def redeem_grant(
    gid: str, *, gateway: str, viewer_ip: str | None = None, address_reported: bool = False
) -> tuple[ViewGrant | None, str | None]:
    """Mark the grant used, once. Returns (grant, None) or (grant or None, refusal reason).

    ``viewer_ip`` is the address the gateway saw the WHEP offer come from (None: it
    could not tell); ``address_reported`` is False for a gateway that does not send it.
    """
    grant = (
        ViewGrant.objects.select_for_update(of=("self",))
        .select_related("camera", "person", "attempt__night_check__person", "tenant")
        .filter(gid=gid)
        .first()
    )
    if grant is None:
        return None, "unknown"
    if grant.redeemed_at is not None:
        # A replay (ASVS 16.3: every authorization failure is logged), to the address it came from.
        record(
            actor=None,
            action=AuditAction.GRANT_REFUSED,
            tenant=grant.tenant_id,
            person=grant.person_id,
            obj=grant,
            ip=normalise_ip(viewer_ip),
            detail={"reason": "already_used", "operator": grant.operator_id, "gateway": gateway},
        )
        return grant, "already_used"
    now = clock.now()
    refusal, ip = start_refusal(grant, now, viewer_ip=viewer_ip, address_reported=address_reported)
    if refusal is not None:
        record(
            actor=None,
            action=AuditAction.GRANT_REFUSED,
            tenant=grant.tenant_id,
            person=grant.person_id,
            obj=grant,
            ip=ip,
            detail={"reason": refusal, "operator": grant.operator_id, "gateway": gateway},
        )
        return grant, refusal
    grant.redeemed_at = now
    grant.blurred = grant.person is not None and picture_blurred(grant.person, now)
    grant.save(update_fields=["redeemed_at", "blurred"])
    return grant, None


@transaction.atomic
def record_view_event(
    gid: str, *, event: str, at: datetime, reason: str = "", bytes_sent: int = 0, transcoded: bool = False
) -> ViewGrant | None:
    """The gateway reports a session's start, first frame and end; the end is audited."""
    grant = ViewGrant.objects.select_for_update().filter(gid=gid).first()
    if grant is None:
        return None
    if event == "first_frame" and grant.first_frame_at is None:
        grant.first_frame_at = at
        grant.save(update_fields=["first_frame_at"])
    elif event == "ended" and grant.ended_at is None:
        grant.ended_at = at
        grant.end_reason = reason[:40]
        grant.bytes_sent = bytes_sent
        grant.transcoded = transcoded
        grant.save(update_fields=["ended_at", "end_reason", "bytes_sent", "transcoded"])
        record(
            actor=grant.operator,
            action=AuditAction.CAMERA_VIEW,
            tenant=grant.tenant_id,
            person=grant.person_id,
            obj=grant,
            duration_s=grant.view_duration_s,
            detail={
                "purpose": grant.purpose,
                "camera": grant.camera_id,
                "end_reason": reason,
                "bytes_sent": bytes_sent,
                "transcoded": transcoded,
                "gid": str(grant.gid),
            },
        )
        transaction.on_commit(lambda: return_camera_to_privacy(grant.camera_id))
    return grant


def return_camera_to_privacy(camera_id: int) -> bool:
    """Back to the privacy position, unless another grant still covers the camera (the
    next attempt of the same check, a preparation). True if it was sent back."""
    now = clock.now()
    if covering_grants(now).filter(camera_id=camera_id).exists():
        return False
    camera = Camera.objects.get(id=camera_id)
    driver_for(camera).close_view()
    ViewGrant.objects.filter(camera_id=camera_id, camera_returned_to_privacy=False, issued_at__lte=now).update(
        camera_returned_to_privacy=True
    )
    # Sent, not verified: the privacy reconciler asks the camera at its next pass.
    Camera.objects.filter(id=camera_id).update(privacy_verified_at=None)
    return True


def revoke_grants_for_person(person: Person, *, reason: str) -> int:
    """Stop every view of this person that is granted or running. The gateway polls
    the revocation list every second, so a running stream stops within seconds."""
    now = clock.now()
    live = ViewGrant.objects.filter(person=person, revoked_at__isnull=True, ended_at__isnull=True, hard_end__gt=now)
    return _revoke(live, reason=reason, now=now)


def end_grants_for_person_by(person: Person, until: datetime, *, reason: str) -> int:
    """Views of ``person`` granted past ``until`` end then: the gateway stops a grant past
    its hard end at its next revocation poll (``revoked_gids``)."""
    live = ViewGrant.objects.select_for_update(of=("self",)).filter(
        person=person, revoked_at__isnull=True, ended_at__isnull=True, hard_end__gt=until
    )
    count = 0
    for grant in live:
        grant.hard_end = until
        grant.start_by = min(grant.start_by, until)
        grant.save(update_fields=["hard_end", "start_by"])
        record(
            actor=None,
            action=AuditAction.GRANT_REVOKED,
            tenant=grant.tenant_id,
            person=grant.person_id,
            obj=grant,
            detail={"reason": reason, "gid": str(grant.gid), "from": until.isoformat()},
        )
        count += 1
    return count


def revoke_grants_for_attempt(attempt: Any, *, reason: str) -> int:
    now = clock.now()
    live = ViewGrant.objects.filter(attempt=attempt, revoked_at__isnull=True, ended_at__isnull=True, hard_end__gt=now)
    return _revoke(live, reason=reason, now=now)


def revoke_grants(grants: Any, *, reason: str) -> int:
    """Stop these grants (the gateway drops them at its next poll, within a second)."""
    return _revoke(grants.filter(revoked_at__isnull=True), reason=reason, now=clock.now())


def _revoke(grants: Any, *, reason: str, now: datetime) -> int:
    count = 0
    with transaction.atomic():
        # OF self: the filter may join nullable relations (a preparation's check), which
        # PostgreSQL cannot lock.
        for grant in grants.select_for_update(of=("self",)):
            grant.revoked_at = now
            grant.revoke_reason = reason
            grant.save(update_fields=["revoked_at", "revoke_reason"])
            record(
                actor=None,
                action=AuditAction.GRANT_REVOKED,
                tenant=grant.tenant_id,
                person=grant.person_id,
                obj=grant,
                detail={"reason": reason, "gid": str(grant.gid)},
            )
            count += 1
    return count


def revoked_gids(gids: list[str]) -> list[str]:
    """Which of these grants must stop now (revoked, or past their hard end)."""
    now = clock.now()
    valid_ids = []
    for gid in gids:
        try:
            import uuid

            valid_ids.append(uuid.UUID(gid))
        except ValueError:
            continue
    stopped = ViewGrant.objects.filter(gid__in=valid_ids).filter(Q(revoked_at__isnull=False) | Q(hard_end__lte=now))
    unknown = set(valid_ids) - set(ViewGrant.objects.filter(gid__in=valid_ids).values_list("gid", flat=True))
    return [str(gid) for gid in stopped.values_list("gid", flat=True)] + [str(gid) for gid in unknown]


def close_views_past_their_end(now: datetime, *, budget_s: float = 10.0) -> int:
    """Worker safety net: every camera some grant took out of privacy goes back once no
    grant covers it (ended, revoked, expired unused, past its hard end), even if the
    gateway never reported the end.

    Each camera is asked over the network; a few dead camera APIs, each waiting out
    its timeout, must not hold up the rest of the tick (making checks due, alarms),
    so this stops after ``budget_s`` and the next tick takes the rest, oldest first.
    """
    started = time.monotonic()
    uncovered = (
        ViewGrant.objects.filter(camera_returned_to_privacy=False)
        .exclude(camera_id__in=covering_grants(now).values("camera_id"))
        .order_by("hard_end")
    )
    count = 0
    seen: set[int] = set()
    for camera_id in uncovered.values_list("camera_id", flat=True)[:200]:
        if camera_id in seen:
            continue
        seen.add(camera_id)
        if time.monotonic() - started >= budget_s:
            break
        count += return_camera_to_privacy(camera_id)
    return count


@dataclass(frozen=True)
class TechnicalTestResult:
    ok: bool
    problem: str


def run_technical_test(camera: Camera, *, actor: User | None) -> TechnicalTestResult:
    """Ask the camera and the gateway whether the camera works, without showing anyone the picture."""
    from cameras.health import probe_camera

    result = probe_camera(camera)
    problem = result.problem
    if not problem and result.in_privacy_position is False and not camera_is_in_view(camera):
        problem = "not_in_privacy_position"
    with transaction.atomic():
        Camera.objects.filter(id=camera.id).update(
            last_probe_at=clock.now(), last_probe_ok=not problem, last_probe_problem=problem
        )
        record(
            actor=actor,
            action=AuditAction.CAMERA_FAULT if problem else AuditAction.CAMERA_CHANGED,
            tenant=camera.tenant_id,
            person=camera.person_id,
            obj=camera,
            detail={"technical_test": True, "problem": problem},
        )
    return TechnicalTestResult(ok=not problem, problem=problem)


def camera_is_in_view(camera: Camera) -> bool:
    """A granted view is running, so the camera is rightly out of its privacy position."""
    return covering_grants(clock.now()).filter(camera=camera).exists()
