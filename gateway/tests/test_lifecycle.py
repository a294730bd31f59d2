"""How views and prepared pulls end: grant end, revocation, camera loss, shutdown."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from gateway.tests.fakes import (
    CAMERA_URL,
    GATEWAY_TOKEN,
    FakeCamera,
    Harness,
    WhepClient,
    assert_cut_at,
    make_grant,
    running_gateway,
)


async def prepare(harness: Harness, grant: str) -> int:
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{harness.url}/internal/prepare",
            json={"grant": grant, "rtsp_url": CAMERA_URL, "rtsp_transport": "tcp"},
            headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"},
        )
        return response.status


async def frames_after(client: WhepClient, moment: float, quiet_s: float = 0.6) -> int:
    """Frames the client got later than ``moment`` (+ delivery slack), after waiting a bit."""
    await asyncio.sleep(quiet_s)
    return sum(1 for received in client.received if received.at > moment + 0.3)


async def wait_until(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.usefixtures("undecoded_receiver")
async def test_the_grant_end_cuts_the_stream_whatever_the_browser_does() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant("g-short", max_view_s=2)) == 201
        first_frame = await harness.control.wait_event("first_frame", client.session_id)
        ended = await harness.control.wait_event("ended", client.session_id, timeout_s=5)
        cut_at = time.monotonic()
        assert ended["reason"] == "grant_end"
        assert ended["bytes_sent"] > 0 and ended["transcoded"] is False
        assert_cut_at(ended["at"] - first_frame["at"], 2.0)
        assert await frames_after(client, cut_at) == 0
        assert harness.gateway.health()["sessions"] == 0
        assert harness.gateway.health()["readers"] == 0  # nobody watching: the camera is released
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_a_revocation_stops_a_running_stream_within_5_s() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant("g-revoked")) == 201
        await client.first()
        await asyncio.sleep(0.5)
        revoked_at, revoked_wall = time.monotonic(), time.time()
        harness.control.revoked.add("g-revoked")
        ended = await harness.control.wait_event("ended", client.session_id, timeout_s=5)
        assert ended["reason"] == "revoked"
        assert ended["at"] - revoked_wall < 5
        assert ended["bytes_sent"] > 0
        assert await frames_after(client, revoked_at + (ended["at"] - revoked_wall)) == 0
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_unanswered_revocation_polls_stop_live_views_within_5_s() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 201
        await client.first()
        outage = time.time()
        harness.control.down = True  # events are queued and retried meanwhile
        await wait_until(lambda: harness.gateway.health()["sessions"] == 0, timeout_s=5)
        assert time.time() - outage < 5
        harness.control.down = False
        ended = await harness.control.wait_event("ended", client.session_id, timeout_s=5)
        assert ended["reason"] == ""  # not a revocation: unknown, and the audit should say so
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_a_lost_camera_ends_its_views() -> None:
    camera = FakeCamera(fps=25, keyint_s=0.5)
    camera.lose_after_s = 1.5
    async with running_gateway(camera) as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 201
        ended = await harness.control.wait_event("ended", client.session_id, timeout_s=5)
        assert ended["reason"] == "camera_lost"
        assert harness.gateway.health() == {"gateway": "gw-test", "sessions": 0, "readers": 0, "events_pending": 0}
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_shutdown_ends_every_view_and_reports_it() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        clients = [WhepClient() for _ in range(2)]
        for client in clients:
            assert await client.connect(harness.url, make_grant()) == 201
            await client.first()
        await harness.gateway.close()
        for client in clients:
            assert harness.control.events_of(client.session_id, "ended")[0]["reason"] == "shutdown"
            await client.close()
        assert harness.gateway.health() == {"gateway": "gw-test", "sessions": 0, "readers": 0, "events_pending": 0}
        assert not any(reader_thread_alive(harness))


def reader_thread_alive(harness: Harness) -> list[bool]:
    return [reader._thread.is_alive() for reader in harness.gateway._retired_readers]


async def test_prepare_is_idempotent_and_lasts_until_start_by() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        grant = make_grant("g-prep", starts_in_s=1.0)
        assert await prepare(harness, grant) == 202
        assert await prepare(harness, grant) == 202
        await asyncio.sleep(0.3)
        assert harness.camera.opens == 1 and harness.gateway.health()["readers"] == 1
        await wait_until(lambda: harness.gateway.health()["readers"] == 0, timeout_s=2)


async def test_a_revoked_preparation_stops_pulling_the_camera() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        assert await prepare(harness, make_grant("g-prep-revoked")) == 202
        await asyncio.sleep(0.3)
        harness.control.revoked.add("g-prep-revoked")
        await wait_until(lambda: harness.gateway.health()["readers"] == 0, timeout_s=3)


async def test_prepare_refuses_bad_grants_with_400() -> None:
    async with running_gateway() as harness:
        assert await prepare(harness, make_grant(key=b"forged")) == 400
        assert await prepare(harness, make_grant(issued_ago_s=120, starts_in_s=-60)) == 400
        assert harness.camera.opens == 0


async def test_an_idle_gateway_still_polls_with_its_id_as_its_heartbeat() -> None:
    # The control plane sends new grants to a standby when this poll stops (cameras/gateways.py).
    async with running_gateway(revoke_poll_s=0.1) as harness:
        await wait_until(lambda: len(harness.control.heartbeats) >= 3, 3)
        assert set(harness.control.heartbeats) == {"gw-test"}
        assert harness.gateway.health()["sessions"] == 0
