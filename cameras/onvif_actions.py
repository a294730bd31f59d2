"""Changes that come from ONVIF cameras and their installer: adding a camera by its
ONVIF address, its presets, its installation check, its faults and move times.

Kept apart from ``cameras.actions`` (grants and privacy), which it uses but does not change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from cameras import onvif
from cameras.actions import save_camera
from cameras.credentials import decrypt_password
from cameras.models import Camera, CameraDriverKind, CameraProblem, problem_label
from nattillsyn import clock
from people.actions import ActionRefused

VIEW_PRESET_NAME = "nattillsyn-view"
PRIVACY_PRESET_NAME = "nattillsyn-privacy"


def credentials_for(camera: Camera) -> onvif.Credentials:
    host, port = onvif.parse_address(camera.onvif_address)
    password = decrypt_password(camera.password_encrypted) if camera.password_encrypted else ""
    return onvif.Credentials(host, port, camera.username, password)


def refusal_for(fault: onvif.OnvifError) -> ActionRefused:
    """A camera fault as the installer reads it, in Swedish."""
    return ActionRefused(_("The camera: %(problem)s") % {"problem": problem_label(fault.stored)})


def record_camera_fault(camera: Camera, problem: str, *, during: str) -> None:
    """A move or a status request failed: the camera is marked faulty (the worker's
    probe and the console show it) and the fault is audited."""
    with transaction.atomic():
        Camera.objects.filter(id=camera.id).update(
            last_probe_at=clock.now(), last_probe_ok=False, last_probe_problem=problem[:200]
        )
        record(
            actor=None,
            action=AuditAction.CAMERA_FAULT,
            tenant=camera.tenant_id,
            person=camera.person_id,
            obj=camera,
            detail={"problem": problem[:200], "during": during},
        )


def record_preset_move(camera: Camera, seconds: float) -> None:
    """The newest verified move time, which the worker's readying step leads by. A
    measurement, not a decision: not audited."""
    Camera.objects.filter(id=camera.id).update(preset_move_s=round(seconds, 3))
    camera.preset_move_s = round(seconds, 3)


@transaction.atomic
def add_onvif_camera(
    *,
    actor: Any,
    tenant: Tenant,
    name: str,
    address: str,
    username: str,
    password: str,
    person: Any = None,
    placement_note: str = "",
) -> Camera:
    """Register a pan/tilt camera from what the device itself answers: its model, its
    main and sub stream, the profile that moves it. A camera without pan/tilt is refused:
    nothing could turn it away from the bed outside the agreed times (docs/CAMERAS.md)."""
    try:
        host, port = onvif.parse_address(address)
    except ValueError:
        raise ActionRefused(_("The camera's address must be a host name or IP address, with :port if not 80."))
    credentials = onvif.Credentials(host, port, username, password)
    try:
        device = onvif.describe(credentials, timeout_s=settings.ONVIF_MOVE_TIMEOUT_S)
    except onvif.OnvifError as fault:
        raise refusal_for(fault)
    if not device.ptz_profile:
        raise ActionRefused(
            _(
                "The camera has no pan/tilt. Nattillsyn needs a camera that can turn to a privacy position: "
                "choose a pan/tilt camera."
            )
        )
    model = " ".join(part for part in (device.manufacturer, device.model) if part)[:100] or "ONVIF"
    return save_camera(
        None,
        actor=actor,
        tenant=tenant,
        password=password,
        name=name,
        model=model,
        driver=CameraDriverKind.ONVIF_PTZ,
        onvif_address=f"{host}:{port}",
        onvif_profile=device.ptz_profile,
        stream_url=_without_credentials(device.main_stream_url),
        sub_stream_url=_without_credentials(device.sub_stream_url),
        username=username,
        person=person,
        placement_note=placement_note,
    )


def _without_credentials(url: str) -> str:
    # Some cameras put the user and password into the stream address they hand out;
    # ours are kept encrypted in their own field and added only for the gateway.
    parts = urlsplit(url)
    if parts.username is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def camera_presets(camera: Camera) -> list[onvif.Preset]:
    try:
        return onvif.describe(credentials_for(camera), timeout_s=settings.ONVIF_MOVE_TIMEOUT_S).presets
    except onvif.OnvifError as fault:
        raise refusal_for(fault)


@transaction.atomic
def choose_presets(camera: Camera, *, actor: Any, view_preset: str, privacy_preset: str) -> Camera:
    """The installer picks the two presets (or has them made where the camera points now)."""
    if not view_preset or not privacy_preset or view_preset == privacy_preset:
        raise ActionRefused(_("Choose two different presets: one facing the bed, one facing away."))
    tokens = {preset.token: preset for preset in camera_presets(camera)}
    for token in (view_preset, privacy_preset):
        if token not in tokens:
            raise ActionRefused(_("The camera has no preset %(token)s.") % {"token": token})
    view, privacy = tokens[view_preset], tokens[privacy_preset]
    if (
        view.pan is not None
        and privacy.pan is not None
        and view.tilt is not None
        and privacy.tilt is not None
        and abs(view.pan - privacy.pan) <= onvif.POSITION_TOLERANCE
        and abs(view.tilt - privacy.tilt) <= onvif.POSITION_TOLERANCE
    ):
        raise ActionRefused(_("The two presets point the same way: the privacy preset must face away from the bed."))
    old = {"view_preset": camera.view_preset, "privacy_preset": camera.privacy_preset}
    camera.view_preset, camera.privacy_preset = view_preset, privacy_preset
    camera.save(update_fields=["view_preset", "privacy_preset"])
    record(
        actor=actor,
        action=AuditAction.CAMERA_CHANGED,
        tenant=camera.tenant_id,
        person=camera.person_id,
        obj=camera,
        detail={"presets": {"old": old, "new": {"view_preset": view_preset, "privacy_preset": privacy_preset}}},
    )
    return camera


def create_preset_here(camera: Camera, *, actor: Any, kind: str) -> str:
    """Store where the camera points now as the view or the privacy preset (the installer
    has turned it with the camera's own app or remote first). Its token."""
    name = VIEW_PRESET_NAME if kind == "view" else PRIVACY_PRESET_NAME
    try:
        token = onvif.create_preset(
            credentials_for(camera), camera.onvif_profile, name, timeout_s=settings.ONVIF_REQUEST_TIMEOUT_S
        )
    except onvif.OnvifError as fault:
        raise refusal_for(fault)
    record(
        actor=actor,
        action=AuditAction.CAMERA_CHANGED,
        tenant=camera.tenant_id,
        person=camera.person_id,
        obj=camera,
        detail={"preset_created": {"kind": kind, "token": token}},
    )
    return token


@dataclass(frozen=True)
class InstallationCheck:
    """What the installer's check found: each step's result, in order."""

    steps: list[tuple[str, bool, str]]  # (what, passed, problem in words)
    move_s: float | None

    @property
    def passed(self) -> bool:
        return all(passed for _what, passed, _problem in self.steps)


def run_installation_check(camera: Camera, *, actor: Any) -> InstallationCheck:
    """1. Reachable with the stored credentials. 2. A picture (decoded by the gateway,
    shown to nobody). 3. View preset reached. 4. Privacy preset reached and verified
    from the device's own position. The move time is stored. The camera ends in its
    privacy position whatever happened. Audited as a technical test."""
    from cameras.health import probe_camera

    credentials = credentials_for(camera)
    steps: list[tuple[str, bool, str]] = []
    move_s: float | None = None
    try:
        onvif.describe(credentials, timeout_s=settings.ONVIF_MOVE_TIMEOUT_S)
        steps.append((_("Camera reachable"), True, ""))
    except onvif.OnvifError as fault:
        steps.append((_("Camera reachable"), False, problem_label(fault.stored)))
    if steps[-1][1]:
        probe = probe_camera(camera)
        steps.append((_("Picture"), probe.ok, problem_label(probe.problem) if probe.problem else ""))
        for what, token in (
            (_("View preset reached"), camera.view_preset),
            (_("Privacy preset reached and verified"), camera.privacy_preset),
        ):
            started = time.monotonic()
            try:
                result = onvif.move_to_preset(
                    credentials, camera.onvif_profile, token, timeout_s=settings.ONVIF_MOVE_TIMEOUT_S
                )
                move_s = max(move_s or 0.0, result.seconds)
                steps.append((what, True, f"{result.seconds:.2f} s"))
            except onvif.OnvifError as fault:
                steps.append((what, False, problem_label(fault.stored)))
                move_s = None if move_s is None else max(move_s, time.monotonic() - started)
    if move_s is not None:
        record_preset_move(camera, move_s)
    check = InstallationCheck(steps, move_s)
    with transaction.atomic():
        failed = next((problem for _what, passed, problem in steps if not passed), "")
        Camera.objects.filter(id=camera.id).update(
            last_probe_at=clock.now(), last_probe_ok=check.passed, last_probe_problem=failed[:200]
        )
        record(
            actor=actor,
            action=AuditAction.CAMERA_CHANGED if check.passed else AuditAction.CAMERA_FAULT,
            tenant=camera.tenant_id,
            person=camera.person_id,
            obj=camera,
            detail={
                "technical_test": True,
                "onvif": True,
                "steps": [{"step": what, "passed": passed, "problem": problem} for what, passed, problem in steps],
                "move_s": move_s,
            },
        )
    return check


__all__ = [
    "CameraProblem",
    "add_onvif_camera",
    "camera_presets",
    "choose_presets",
    "create_preset_here",
    "credentials_for",
    "record_camera_fault",
    "record_preset_move",
    "run_installation_check",
]
