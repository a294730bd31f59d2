"""Calls from the control plane to the camera gateway (docs/GATEWAY_PROTOCOL.md)."""

from __future__ import annotations

import json
import logging
import urllib.request

from django.conf import settings

log = logging.getLogger(__name__)


def _post(path: str, body: dict[str, object], timeout: float, base_url: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {settings.GATEWAY_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        result: dict[str, object] = json.loads(response.read() or b"{}")
        return result


def prepare(token: str, rtsp_url: str, *, base_url: str) -> None:
    """Ask the gateway to start pulling the camera so the view opens at once.

    Best effort: if it fails, the view still works, it only waits for the
    camera's next keyframe.
    """
    try:
        body: dict[str, object] = {"grant": token, "rtsp_url": rtsp_url, "rtsp_transport": "tcp"}
        _post("/internal/prepare", body, timeout=2, base_url=base_url)
    except (OSError, ValueError) as exc:
        log.warning("gateway prepare failed: %s", exc)


def probe(rtsp_url: str, seconds: float = 3, *, base_url: str) -> dict[str, object]:
    """A technical test of the stream, run by the gateway; no picture leaves it."""
    body = {"rtsp_url": rtsp_url, "rtsp_transport": "tcp", "seconds": seconds}
    return _post("/internal/probe", body, timeout=seconds + 10, base_url=base_url)


def unblur(gid: str, *, base_url: str) -> None:
    """Tell the gateway to show the clear picture for the rest of this grant's view
    (decided and audited by ``cameras.clear_view``)."""
    _post("/internal/unblur", {"gid": gid}, timeout=2, base_url=base_url)
