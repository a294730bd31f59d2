"""Camera drivers: how to put a camera into view and back to its privacy position.

A real deployment adds drivers here (ONVIF PTZ preset, the model's privacy mask).
A driver that cannot move the camera says so with ``supports_privacy = False``,
and the installer sees it on the camera page.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

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

    def close_view(self) -> None:
        """Return to the privacy position."""

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

    def close_view(self) -> None:
        self._set_privacy(True)

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


def driver_for(camera: Camera) -> CameraDriver:
    if camera.driver == CameraDriverKind.SIMULATED:
        return SimulatedCameraDriver(camera)
    return CameraDriver(camera)
