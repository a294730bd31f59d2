"""Is a camera working? Asked by the worker before checks and by staff at any time.

Network only, no database writes, so the caller decides what a fault means. The
picture is decoded by the gateway and never leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cameras import gateway_client, gateways
from cameras.credentials import stream_url_with_credentials
from cameras.drivers import CameraDriver, CameraStatus, driver_for
from cameras.models import Camera, CameraProblem


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    problem: str
    in_privacy_position: bool | None = None


def probe_camera(camera: Camera, seconds: float = 2) -> ProbeResult:
    """1. The camera and its router answer. 2. The stream decodes, not black, not frozen."""
    driver = driver_for(camera)
    status = driver.status()
    if status.in_privacy_position is False:
        status = restore_privacy_if_not_viewed(camera, driver, status)
    if not status.reachable:
        return ProbeResult(False, status.problem or CameraProblem.UNREACHABLE, status.in_privacy_position)
    url = stream_url_with_credentials(camera.stream_url, camera.username, camera.password_encrypted)
    try:
        probe = gateway_client.probe(url, seconds=seconds, base_url=gateways.route_for_camera(camera).internal_url)
    except (OSError, ValueError) as exc:
        return ProbeResult(False, f"{CameraProblem.GATEWAY_UNREACHABLE}: {exc}"[:200], status.in_privacy_position)
    if not probe.get("reachable"):
        problem = f"{CameraProblem.STREAM_UNREACHABLE}: {probe.get('error') or ''}"
    elif probe.get("black"):
        problem = CameraProblem.PICTURE_BLACK
    elif probe.get("frozen"):
        problem = CameraProblem.PICTURE_FROZEN
    else:
        problem = ""
    return ProbeResult(not problem, problem[:200], status.in_privacy_position)


def restore_privacy_if_not_viewed(camera: Camera, driver: CameraDriver, status: CameraStatus) -> CameraStatus:
    """Outside a granted view a camera faces away. One found facing the bed is turned
    back and the finding is audited: somebody or something moved it."""
    from cameras.actions import camera_is_in_view
    from cameras.privacy import record_privacy_restored

    if camera_is_in_view(camera):
        return status
    driver.close_view()
    record_privacy_restored(camera)
    return CameraStatus(status.reachable, True, status.problem)
