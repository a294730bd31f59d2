"""What the gateway reports, made without a gateway or a browser: for the demo's past
nights (accounts.management.demo_night) and for the tests (nattillsyn.testing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cameras.actions import record_view_event
from nattillsyn import clock


def show_picture(attempt: Any, *, seconds: float = 3.0) -> None:
    """What the gateway reports when the operator's browser got the picture: a first
    frame ``seconds`` ago (an outcome of "seen" needs one; checks.actions.picture_refusal)."""
    record_view_event(str(attempt.grant.gid), event="first_frame", at=clock.now() - timedelta(seconds=seconds))
