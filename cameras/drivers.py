"""Camera drivers: how to put a camera into view and back to its privacy position.

Drivers: the simulated cameras (simcam's control API), ONVIF pan/tilt cameras (a
privacy preset, verified), and generic RTSP (no privacy position). A driver that cannot
move the camera says so with ``supports_privacy = False``, and the installer sees it on
the camera page. How to add one: docs/CAMERAS.md.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from cameras import onvif
from cameras.models import Camera, CameraDriverKind, CameraProblem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraStatus:
    reachable: bool
    in_privacy_position: bool | None  # None: the driver cannot tell
    problem: str = ""


class CameraDriver:
    supports_privacy = False

    def __init__(self, camera: Camera) -> None:
        self.camera = camera

    def open_view(self) -> None:
        """Leave the privacy position for a granted view."""

    def close_view(self) -> bool | None:
        """Return to the privacy position. False: it did not get there (a fault is
        recorded); None: the driver cannot tell."""
        return None

    def status(self) -> CameraStatus:
        return CameraStatus(reachable=True, in_privacy_position=None, problem="")


class SimulatedCameraDriver(CameraDriver):
    """Talks to the simulated cameras' control API (simcam/)."""

    supports_privacy = True

    def _name(self) -> str:
        return urlsplit(self.camera.stream_url).path.strip("/")

    def _request(self, method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{settings.SIMCAM_API_URL}/cameras/{self._name()}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            result: dict[str, object] = json.loads(response.read() or b"{}")
            return result

    def _set_privacy(self, privacy: bool) -> None:
        try:
            self._request("PUT", "/privacy", {"privacy": privacy})
        except (OSError, ValueError) as exc:
            log.warning("camera %s: could not set privacy=%s: %s", self.camera.id, privacy, exc)

    def open_view(self) -> None:
        self._set_privacy(False)

    def close_view(self) -> bool | None:
        self._set_privacy(True)
        return None

    def status(self) -> CameraStatus:
        try:
            self._request("GET", "/heartbeat")
        except urllib.error.HTTPError as exc:
            return CameraStatus(False, None, CameraProblem.ROUTER_DOWN if exc.code == 503 else f"http_{exc.code}")
        except (OSError, ValueError):
            return CameraStatus(False, None, CameraProblem.UNREACHABLE)
        try:
            info = self._request("GET", "")
        except (OSError, ValueError):
            return CameraStatus(False, None, CameraProblem.UNREACHABLE)
        if info.get("scenario") == "offline":
            return CameraStatus(False, bool(info.get("privacy")), CameraProblem.STREAM_OFFLINE)
        return CameraStatus(True, bool(info.get("privacy")), "")


class OnvifCameraDriver(CameraDriver):
    """A pan/tilt camera over ONVIF (cameras/onvif.py): the view preset to open, the
    privacy preset to close, each move verified from the device's own PTZ position.

    A move that fails or does not arrive is a camera fault (recorded, audited), not an
    exception: the callers are ``transaction.on_commit`` hooks and the worker's tick.
    The worker's probe (``status``) finds a camera left out of privacy and sends it back.
    """

    supports_privacy = True

    def _move(self, preset: str, *, during: str) -> bool:
        # Imported here: onvif_actions uses cameras.actions, which uses these drivers.
        from cameras.onvif_actions import credentials_for, record_camera_fault, record_preset_move

        try:
            result = onvif.move_to_preset(
                credentials_for(self.camera),
                self.camera.onvif_profile,
                preset,
                timeout_s=settings.ONVIF_MOVE_TIMEOUT_S,
            )
        except (onvif.OnvifError, ValueError) as fault:
            problem = fault.stored if isinstance(fault, onvif.OnvifError) else f"{CameraProblem.UNREACHABLE}: {fault}"
            log.warning("camera %s: %s failed: %s", self.camera.id, during, problem)
            record_camera_fault(self.camera, problem, during=during)
            return False
        record_preset_move(self.camera, result.seconds)
        return True

    def open_view(self) -> None:
        self._move(self.camera.view_preset, during="open_view")

    def close_view(self) -> bool:
        return self._move(self.camera.privacy_preset, during="close_view")

    def status(self) -> CameraStatus:
        from cameras.onvif_actions import credentials_for

        try:
            in_privacy = onvif.at_preset(
                credentials_for(self.camera),
                self.camera.onvif_profile,
                self.camera.privacy_preset,
                timeout_s=settings.ONVIF_REQUEST_TIMEOUT_S,
            )
        except onvif.OnvifError as fault:
            return CameraStatus(False, None, fault.stored)
        except ValueError as error:
            return CameraStatus(False, None, f"{CameraProblem.UNREACHABLE}: {error}"[:200])
        return CameraStatus(True, in_privacy, "")


def driver_for(camera: Camera) -> CameraDriver:
    if camera.driver == CameraDriverKind.SIMULATED:
        return SimulatedCameraDriver(camera)
    if camera.driver == CameraDriverKind.ONVIF_PTZ:
        return OnvifCameraDriver(camera)
    return CameraDriver(camera)
