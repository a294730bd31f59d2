"""Calls from the gateway to the control plane (redeem, revoked, events).

Every failure here fails closed: an unanswered redeem means no media, an unanswered
revocation poll eventually stops live views (see Gateway). Nothing here raises
anything but the two exceptions below, so a flaky control plane cannot crash us.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class ControlPlaneUnavailable(Exception):
    """No usable answer (network error, timeout, 5xx, garbage)."""


class RedeemRefused(Exception):
    """The control plane said no; ``status`` is passed on to the browser."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Redeemed:
    """The control plane's answer to a redeem: the camera, and the view's limits as the
    stored grant holds them now (``None`` from a control plane that does not send them)."""

    rtsp_url: str
    rtsp_transport: str
    hard_end: float | None = None  # unix seconds
    max_view_s: float | None = None
    sub_rtsp_url: str = ""  # the camera's low-bitrate stream, for a link too weak for the main one
    blur: bool = False  # the person chose a blurred picture (gateway/blur.py)


def _limit(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ControlPlaneUnavailable(f"redeem: bad {name} {value!r}")
    return float(value)


class ControlPlane:
    def __init__(self, base_url: str, token: str, gateway_id: str, timeout_s: float) -> None:
        self._base_url = base_url
        self._headers = {"Authorization": f"Bearer {token}"}
        self._gateway_id = gateway_id
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def _post(self, path: str, body: dict[str, Any], timeout_s: float | None = None) -> tuple[int, Any]:
        if self._http is None:
            self._http = aiohttp.ClientSession(headers=self._headers)
        timeout = self._timeout if timeout_s is None else aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with self._http.post(self._base_url + path, json=body, timeout=timeout) as response:
                if response.status >= 500:
                    raise ControlPlaneUnavailable(f"{path}: HTTP {response.status}")
                try:
                    payload = await response.json(content_type=None)
                except ValueError:
                    payload = None
                return response.status, payload
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ControlPlaneUnavailable(f"{path}: {type(exc).__name__}") from exc

    async def redeem(self, gid: str, viewer_ip: str | None) -> Redeemed:
        """Mark the grant used (atomically, on the control plane) and get the camera.

        ``viewer_ip`` is the address the WHEP offer came from (None: unknown); the
        control plane refuses the grant when it was issued to another address.
        """
        status, payload = await self._post(
            "/internal/gateway/redeem", {"gid": gid, "gateway": self._gateway_id, "viewer_ip": viewer_ip}
        )
        if status == 200 and isinstance(payload, dict) and isinstance(payload.get("rtsp_url"), str):
            transport = payload.get("rtsp_transport") or "tcp"
            if transport not in ("tcp", "udp"):
                raise ControlPlaneUnavailable(f"redeem: unknown rtsp_transport {transport!r}")
            sub_url = payload.get("sub_rtsp_url") or ""
            if not isinstance(sub_url, str):
                raise ControlPlaneUnavailable("redeem: sub_rtsp_url must be a string")
            blur = payload.get("blur", False)
            if not isinstance(blur, bool):  # never guess about showing a clear picture
                raise ControlPlaneUnavailable(f"redeem: bad blur {blur!r}")
            return Redeemed(
                payload["rtsp_url"],
                transport,
                _limit(payload, "hard_end"),
                _limit(payload, "max_view_s"),
                sub_rtsp_url=sub_url,
                blur=blur,
            )
        reason = payload.get("error", "") if isinstance(payload, dict) else ""
        if not isinstance(reason, str):
            reason = ""
        # A spent grant is as final for the viewer as a revoked one: 403, never 409,
        # which WHEP players take for a conflict worth retrying.
        if status == 409:
            raise RedeemRefused(403, "grant already used")
        if status in (403, 404):
            raise RedeemRefused(403, reason or "refused by the control plane")
        raise ControlPlaneUnavailable(f"redeem: HTTP {status}")

    async def revoked(self, gids: list[str], timeout_s: float) -> set[str]:
        # The gateway's id makes the poll its heartbeat too (the control plane's liveness).
        body = {"gids": gids, "gateway": self._gateway_id}
        status, payload = await self._post("/internal/gateway/revoked", body, timeout_s)
        if status != 200 or not isinstance(payload, dict) or not isinstance(payload.get("revoked"), list):
            raise ControlPlaneUnavailable(f"revoked: HTTP {status}")
        return {gid for gid in payload["revoked"] if isinstance(gid, str)}

    async def post_event(self, event: dict[str, Any]) -> None:
        status, _ = await self._post("/internal/gateway/events", event)
        if status != 200:
            raise ControlPlaneUnavailable(f"events: HTTP {status}")


class EventReporter:
    """Sends view events in order, in the background, so media never waits on them.

    The control plane writes the audit entry from ``ended``, so each event is tried
    a few times before it is given up (and logged, with its ids only).
    """

    ATTEMPTS = 4

    def __init__(self, control: ControlPlane) -> None:
        self._control = control
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.pending = 0  # queued or being sent: the control plane has not got them yet

    def report(self, event: dict[str, Any]) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._send_all(), name="event-reporter")
        self.pending += 1
        self._queue.put_nowait(event)

    async def _send_all(self) -> None:
        while True:
            event = await self._queue.get()
            for attempt in range(self.ATTEMPTS):
                try:
                    await self._control.post_event(event)
                    break
                except ControlPlaneUnavailable as exc:
                    if attempt + 1 == self.ATTEMPTS:
                        log.error("event %s for session %s lost: %s", event["event"], event["session"], exc)
                    else:
                        await asyncio.sleep(0.5 * 2**attempt)
            self.pending -= 1
            self._queue.task_done()

    async def flush(self, timeout_s: float) -> None:
        """Wait (bounded) until every queued event was sent or given up, then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
