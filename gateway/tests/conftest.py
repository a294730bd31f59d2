"""Runs ``async def`` tests on a fresh event loop (no pytest-asyncio in this project)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import pytest

ASYNC_TEST_TIMEOUT_S = 60


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**arguments), ASYNC_TEST_TIMEOUT_S))
    return True


@pytest.fixture(autouse=True)
def _quiet_webrtc_logs() -> None:
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    logging.getLogger("aioice").setLevel(logging.WARNING)


class RecordingDecoder:
    """Stands in for the receiver's H.264 decoder: hands on the access units as received."""

    def decode(self, encoded_frame: Any) -> list[Any]:
        return [encoded_frame]


@pytest.fixture
def undecoded_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiortc clients in this test get raw H.264 access units (JitterFrame) instead of pictures.

    The fake camera's payloads are not real pictures; comparing bytes is the point.
    """
    import aiortc.rtcrtpreceiver

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", lambda codec: RecordingDecoder())
