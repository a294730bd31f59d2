"""A blurred view: small and soft until the operator switches, then the camera's own packets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import av
import numpy as np
import pytest

from gateway.blur import SENT_SIZE
from gateway.rtsp import NAL_IDR, NAL_SPS, nal_types, nal_units
from gateway.tests.fakes import (
    GATEWAY_TOKEN,
    FakeControlPlane,
    H264Camera,
    Harness,
    WhepClient,
    make_grant,
    running_gateway,
)


def high_frequency_energy(luma: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: fine detail, as a face has."""
    luma = luma.astype(np.int16)
    return float(np.abs(np.diff(luma, axis=1)).mean() + np.abs(np.diff(luma, axis=0)).mean())


def units_of(data: bytes) -> tuple[bytes, ...]:
    """The NAL units, whatever start codes carried them (aiortc writes 4-byte ones)."""
    return tuple(nal_units(data))


def decode_all(units: list[bytes]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create("h264", "r")
    frames: list[av.VideoFrame] = []
    for unit in units:
        frames.extend(decoder.decode(av.Packet(unit)))
    return frames


async def unblur(harness: Harness, gid: str, token: str = GATEWAY_TOKEN) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{harness.url}/internal/unblur", json={"gid": gid}, headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        return response.status


async def wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.usefixtures("undecoded_receiver")
async def test_a_blurred_view_is_small_and_soft_and_switching_sends_the_cameras_own_packets() -> None:
    camera = H264Camera(fps=15, seconds=2.0)
    async with running_gateway(camera, FakeControlPlane(limits={"blur": True})) as harness:
        client = WhepClient()
        grant = make_grant("g-blur")
        assert await client.connect(harness.url, grant) == 201
        await client.first(timeout_s=20)
        await wait_for(lambda: len(client.received) >= 8, timeout_s=20)
        blurred = [bytes(r.item.data) for r in client.received]
        camera_sent = {units_of(data) for data in camera.sent.values()}
        assert not camera_sent.intersection(
            map(units_of, blurred)
        )  # not one of the camera's own packets reached the viewer

        pictures = decode_all(blurred)
        assert pictures and {(p.width, p.height) for p in pictures} == {SENT_SIZE}
        source = decode_all(camera.units)[-1]
        source_energy = high_frequency_energy(source.to_ndarray(format="gray"))
        blurred_energy = high_frequency_energy(pictures[-1].to_ndarray(format="gray"))
        assert blurred_energy < source_energy / 10, (blurred_energy, source_energy)
        # "a body" is still there: the bright block stands out from the background.
        luma = pictures[-1].to_ndarray(format="gray")
        assert luma.max() - np.median(luma) > 40

        assert await unblur(harness, "no-such-gid") == 404
        assert await unblur(harness, "g-blur", token="wrong") == 401
        received_before = len(client.received)
        assert await unblur(harness, "g-blur") == 200
        await wait_for(lambda: len(client.received) >= received_before + 10, timeout_s=20)
        after = [bytes(r.item.data) for r in client.received[received_before:]]
        # A few blurred pictures may have been on their way; then the camera's keyframe …
        switch = next(i for i, data in enumerate(after) if any(p.width == 1280 for p in decode_all([data])))
        assert {NAL_SPS, NAL_IDR} <= set(nal_types(after[switch]))
        assert all(units_of(data) not in camera_sent for data in after[:switch])
        # … and from there on the very pictures the camera sent, none re-encoded.
        assert all(units_of(data) in camera_sent for data in after[switch + 1 :])
        assert {(p.width, p.height) for p in decode_all(after[switch:])} == {(1280, 720)}
        await client.close()
        ended = await harness.control.wait_event("ended", client.session_id)
        assert ended["transcoded"] is True


@pytest.mark.usefixtures("undecoded_receiver")
async def test_a_view_without_blur_is_passed_through_and_cannot_be_unblurred_into_anything_else() -> None:
    camera = H264Camera(fps=15, seconds=2.0)
    async with running_gateway(camera) as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant("g-clear")) == 201
        first = await client.first(timeout_s=20)
        assert units_of(bytes(first.item.data)) in {units_of(data) for data in camera.sent.values()}
        assert await unblur(harness, "g-clear") == 200  # already clear: nothing changes
        await client.close()
        ended = await harness.control.wait_event("ended", client.session_id)
        assert ended["transcoded"] is False


async def test_a_malformed_blur_answer_refuses_the_view() -> None:
    async with running_gateway(H264Camera(), FakeControlPlane(limits={"blur": "yes"})) as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 503
        await client.close()
