"""ONVIF cameras: profiles, stream addresses, PTZ presets and verified moves.

The client is onvif-zeep-async (asyncio). Django's code that calls it is synchronous
(views, the worker's tick, ``transaction.on_commit``), so every call runs on one private
event loop in a thread of its own, under a hard timeout: a camera that never answers
costs the caller at most that long, and never a hung worker tick.

No database access here; ``cameras.onvif_actions`` stores what these calls find.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cameras.models import CameraProblem

log = logging.getLogger(__name__)

T = TypeVar("T")

# Generic pan/tilt space is -1..1 on both axes: 0.02 is 1 % of the range, well under
# the difference between a bed and a ceiling, and above the rounding cameras report.
POSITION_TOLERANCE = 0.02
STATUS_POLL_S = 0.1
DEFAULT_ONVIF_PORT = 80


class OnvifError(Exception):
    """A camera fault, as one of ``CameraProblem``'s codes and the device's own words."""

    def __init__(self, problem: str, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else problem)
        self.problem = problem
        self.detail = detail

    @property
    def stored(self) -> str:
        """The form ``Camera.last_probe_problem`` keeps (``cameras.models.problem_label`` reads it)."""
        return str(self)[:200]


@dataclass(frozen=True)
class Credentials:
    host: str
    port: int
    username: str
    password: str


@dataclass(frozen=True)
class Preset:
    token: str
    name: str
    pan: float | None
    tilt: float | None


@dataclass(frozen=True)
class Position:
    pan: float
    tilt: float
    moving: bool


@dataclass(frozen=True)
class Profile:
    token: str
    name: str
    width: int
    height: int
    has_ptz: bool


@dataclass(frozen=True)
class DeviceDescription:
    manufacturer: str
    model: str
    profiles: list[Profile]
    ptz_profile: str  # "" when the device has no pan/tilt
    main_stream_url: str
    sub_stream_url: str
    presets: list[Preset] = field(default_factory=list)


@dataclass(frozen=True)
class MoveResult:
    seconds: float
    position: Position


def parse_address(text: str) -> tuple[str, int]:
    """``host``, ``host:port`` or the device service's URL → (host, port)."""
    text = text.strip()
    if not text:
        raise ValueError("empty address")
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if not parts.hostname or parts.scheme not in ("http", "https"):
        raise ValueError(f"not a camera address: {text!r}")
    return parts.hostname, parts.port or DEFAULT_ONVIF_PORT


# --- the private event loop ------------------------------------------------------


class _PrivateLoop:
    """One asyncio loop in a daemon thread, shared by every synchronous caller."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="onvif-loop", daemon=True).start()
                self._loop = loop
            return self._loop

    def run(self, make: Callable[[], Awaitable[T]], timeout_s: float) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(make(), timeout_s)

        future = asyncio.run_coroutine_threadsafe(bounded(), self._running_loop())
        try:
            # A little over the coroutine's own limit: it cancels itself first, and this
            # catches a loop that is itself stuck.
            return future.result(timeout_s + 1)
        except (TimeoutError, concurrent.futures.TimeoutError):
            future.cancel()
            raise OnvifError(CameraProblem.DEVICE_TIMEOUT, f"no answer within {timeout_s:g} s") from None


_LOOP = _PrivateLoop()


# --- connections ---------------------------------------------------------------


class _Device:
    """One connected camera: its services, created once and reused while they work."""

    def __init__(self, credentials: Credentials) -> None:
        from onvif import ONVIFCamera

        self.credentials = credentials
        # no_cache: the WSDL files ship with the library, nothing to cache on disk.
        # adjust_time: WS-Security digests carry a timestamp; many cameras' clocks drift.
        self.camera = ONVIFCamera(
            credentials.host,
            credentials.port,
            credentials.username,
            credentials.password,
            no_cache=True,
            adjust_time=True,
        )
        self.ptz: Any = None
        self.media: Any = None

    async def connect(self) -> None:
        await self.camera.update_xaddrs()
        self.media = await self.camera.create_media_service()

    async def ptz_service(self) -> Any:
        if self.ptz is None:
            if not self._has_ptz():
                raise OnvifError(CameraProblem.NO_PAN_TILT)
            self.ptz = await self.camera.create_ptz_service()
        return self.ptz

    def _has_ptz(self) -> bool:
        return any("ptz" in namespace.lower() for namespace in self.camera.xaddrs)

    async def close(self) -> None:
        try:
            await self.camera.close()
        except Exception:  # closing a broken connection must not hide the first error
            log.debug("closing ONVIF connection to %s failed", self.credentials.host, exc_info=True)


_DEVICES: dict[tuple[str, int, str, str], _Device] = {}


def _key(credentials: Credentials) -> tuple[str, int, str, str]:
    # The password only as a digest: the cache must not be a second place it is kept.
    digest = hashlib.sha256(credentials.password.encode()).hexdigest()
    return (credentials.host, credentials.port, credentials.username, digest)


async def _with_device(credentials: Credentials, use: Callable[[_Device], Awaitable[T]]) -> T:
    """Run ``use`` on a connected device; any failure drops the connection so the next
    call connects afresh (a camera that rebooted, or got a new password)."""
    key = _key(credentials)
    device = _DEVICES.get(key)
    try:
        if device is None:
            device = _Device(credentials)
            await device.connect()
            _DEVICES[key] = device
        return await use(device)
    except BaseException as error:
        dropped = _DEVICES.pop(key, None) or device
        if dropped is not None:
            await dropped.close()
        if isinstance(error, OnvifError | asyncio.CancelledError | asyncio.TimeoutError):
            raise
        raise _as_onvif_error(error) from error


def _as_onvif_error(error: BaseException) -> OnvifError:
    """The library's and zeep's exceptions as a camera problem the installer can act on."""
    from onvif.exceptions import ONVIFAuthError, ONVIFTimeoutError
    from zeep.exceptions import Fault, TransportError

    text = str(error)
    lowered = text.lower()
    auth_words = ("not authorized", "notauthorized", "unauthorized", "authority failure", "401")
    if isinstance(error, ONVIFAuthError) or any(word in lowered for word in auth_words):
        return OnvifError(CameraProblem.WRONG_CREDENTIALS)
    if isinstance(error, TransportError) and error.status_code in (401, 403):
        return OnvifError(CameraProblem.WRONG_CREDENTIALS)
    if isinstance(error, ONVIFTimeoutError | TimeoutError):
        return OnvifError(CameraProblem.DEVICE_TIMEOUT, text[:120])
    if "doesn`t support service" in text and "ptz" in lowered:
        return OnvifError(CameraProblem.NO_PAN_TILT)
    if isinstance(error, Fault | TransportError):
        return OnvifError(CameraProblem.DEVICE_ERROR, text[:120])
    if isinstance(error, OSError) or "cannot connect" in lowered or "connect call failed" in lowered:
        return OnvifError(CameraProblem.UNREACHABLE, text[:120])
    return OnvifError(CameraProblem.DEVICE_ERROR, text[:120])


def _run(credentials: Credentials, use: Callable[[_Device], Awaitable[T]], timeout_s: float) -> T:
    return _LOOP.run(lambda: _with_device(credentials, use), timeout_s)


# --- what the device answers ---------------------------------------------------


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _pan_tilt(position: Any) -> tuple[float | None, float | None]:
    pan_tilt = getattr(position, "PanTilt", None) if position is not None else None
    if pan_tilt is None:
        return None, None
    return _float(getattr(pan_tilt, "x", None)), _float(getattr(pan_tilt, "y", None))


async def _profiles(device: _Device) -> list[Profile]:
    profiles = []
    for raw in await device.media.GetProfiles() or []:
        encoder = getattr(raw, "VideoEncoderConfiguration", None)
        resolution = getattr(encoder, "Resolution", None)
        profiles.append(
            Profile(
                token=str(raw.token),
                name=str(getattr(raw, "Name", "") or raw.token),
                width=int(getattr(resolution, "Width", 0) or 0),
                height=int(getattr(resolution, "Height", 0) or 0),
                has_ptz=getattr(raw, "PTZConfiguration", None) is not None,
            )
        )
    if not profiles:
        raise OnvifError(CameraProblem.DEVICE_ERROR, "no media profiles")
    return profiles


async def _stream_uri(device: _Device, profile: str) -> str:
    answer = await device.media.GetStreamUri(
        {"StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}, "ProfileToken": profile}
    )
    return str(answer.Uri)


async def _presets(device: _Device, profile: str) -> list[Preset]:
    ptz = await device.ptz_service()
    presets = []
    for raw in await ptz.GetPresets({"ProfileToken": profile}) or []:
        pan, tilt = _pan_tilt(getattr(raw, "PTZPosition", None))
        presets.append(Preset(str(raw.token), str(getattr(raw, "Name", "") or raw.token), pan, tilt))
    return presets


async def _position(device: _Device, profile: str) -> Position:
    ptz = await device.ptz_service()
    status = await ptz.GetStatus({"ProfileToken": profile})
    pan, tilt = _pan_tilt(getattr(status, "Position", None))
    if pan is None or tilt is None:
        raise OnvifError(CameraProblem.DEVICE_ERROR, "PTZ status without a position")
    move_status = getattr(status, "MoveStatus", None)
    moving = str(getattr(move_status, "PanTilt", "") or "").upper() == "MOVING"
    return Position(pan, tilt, moving)


def _at(position: Position, preset: Preset) -> bool:
    if preset.pan is None or preset.tilt is None:
        return False
    return (
        abs(position.pan - preset.pan) <= POSITION_TOLERANCE and abs(position.tilt - preset.tilt) <= POSITION_TOLERANCE
    )


async def _find_preset(device: _Device, profile: str, token: str) -> Preset:
    for preset in await _presets(device, profile):
        if preset.token == token:
            if preset.pan is None or preset.tilt is None:
                raise OnvifError(CameraProblem.PRESET_MISSING, f"{token} has no pan/tilt position")
            return preset
    raise OnvifError(CameraProblem.PRESET_MISSING, token)


# --- the synchronous interface ---------------------------------------------------


def describe(credentials: Credentials, *, timeout_s: float) -> DeviceDescription:
    """Who the device is, its profiles, main and sub stream, and (with pan/tilt) its presets."""

    async def use(device: _Device) -> DeviceDescription:
        devicemgmt = await device.camera.create_devicemgmt_service()
        info = await devicemgmt.GetDeviceInformation()
        profiles = await _profiles(device)
        by_size = sorted(profiles, key=lambda profile: profile.width * profile.height, reverse=True)
        main_stream = await _stream_uri(device, by_size[0].token)
        sub_stream = await _stream_uri(device, by_size[-1].token) if len(by_size) > 1 else ""
        ptz_profile = ""
        presets: list[Preset] = []
        if device._has_ptz():
            ptz_profile = next((profile.token for profile in profiles if profile.has_ptz), profiles[0].token)
            presets = await _presets(device, ptz_profile)
        return DeviceDescription(
            manufacturer=str(getattr(info, "Manufacturer", "") or ""),
            model=str(getattr(info, "Model", "") or ""),
            profiles=profiles,
            ptz_profile=ptz_profile,
            main_stream_url=main_stream,
            sub_stream_url=sub_stream,
            presets=presets,
        )

    return _run(credentials, use, timeout_s)


def create_preset(credentials: Credentials, profile: str, name: str, *, timeout_s: float) -> str:
    """Store where the camera points now as a new preset; its token."""

    async def use(device: _Device) -> str:
        ptz = await device.ptz_service()
        answer = await ptz.SetPreset({"ProfileToken": profile, "PresetName": name})
        return str(getattr(answer, "PresetToken", answer))

    return _run(credentials, use, timeout_s)


def position(credentials: Credentials, profile: str, *, timeout_s: float) -> Position:
    return _run(credentials, lambda device: _position(device, profile), timeout_s)


def at_preset(credentials: Credentials, profile: str, token: str, *, timeout_s: float) -> bool:
    """Whether the camera is (within the tolerance) where the preset points."""

    async def use(device: _Device) -> bool:
        preset = await _find_preset(device, profile, token)
        return _at(await _position(device, profile), preset)

    return _run(credentials, use, timeout_s)


def move_to_preset(credentials: Credentials, profile: str, token: str, *, timeout_s: float) -> MoveResult:
    """1. Find the preset (a missing one is a fault before anything moves).
    2. GotoPreset. 3. Poll GetStatus until the position is the preset's, within the
    tolerance, and the device no longer says it is moving. The time is from the
    command to the verified position. Not there within ``timeout_s``: a fault."""

    async def use(device: _Device) -> MoveResult:
        preset = await _find_preset(device, profile, token)
        ptz = await device.ptz_service()
        started = time.monotonic()
        await ptz.GotoPreset({"ProfileToken": profile, "PresetToken": token})
        last: Position | None = None
        while time.monotonic() - started < timeout_s:
            last = await _position(device, profile)
            if _at(last, preset) and not last.moving:
                return MoveResult(time.monotonic() - started, last)
            await asyncio.sleep(STATUS_POLL_S)
        where = f"at pan {last.pan:.2f} tilt {last.tilt:.2f}" if last else "no position"
        raise OnvifError(CameraProblem.MOVE_INCOMPLETE, f"{token} not reached in {timeout_s:g} s, {where}")

    # The whole move, requests included, under one hard limit (plus the slack for
    # the requests before and after the polling).
    return _run(credentials, use, timeout_s + 2)


def forget_connections() -> None:
    """Drop every cached connection (tests, and after a camera's credentials change)."""

    async def close_all() -> None:
        devices = list(_DEVICES.values())
        _DEVICES.clear()
        for device in devices:
            await device.close()

    try:
        _LOOP.run(close_all, 5)
    except OnvifError:
        _DEVICES.clear()
