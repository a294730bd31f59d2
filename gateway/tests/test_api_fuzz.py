"""Fuzz the gateway's HTTP API (docs/openapi/gateway.yaml) with schemathesis: generated
valid and invalid requests against a real gateway (aiohttp, aiortc) on loopback, as
anyone, with a fresh valid view grant, and with the control plane's gateway token. No
request may get a server error, and every answer must match the description (status,
content type, body). Views go to an in-memory camera; probes only to loopback."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.tests.fakes import GATEWAY_TOKEN, make_grant, running_gateway

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "gateway.yaml"


@cache
def browser_offer() -> str:
    """A real WebRTC offer, as a browser sends it: receive video (and audio), non-trickle."""
    from aiortc import RTCPeerConnection

    async def make() -> str:
        connection = RTCPeerConnection()
        connection.addTransceiver("audio", direction="recvonly")
        connection.addTransceiver("video", direction="recvonly")
        await connection.setLocalDescription(await connection.createOffer())
        sdp = connection.localDescription.sdp
        await connection.close()
        return sdp

    return asyncio.run(make())


@st.composite
def mutated_offers(draw: Any) -> str:
    """The real offer with lines dropped, repeated or garbled, or without H.264."""
    offer = browser_offer()
    lines = offer.splitlines()
    kind = draw(st.sampled_from(["drop", "repeat", "garble", "no_h264", "truncate"]))
    at = draw(st.integers(0, len(lines) - 1))
    if kind == "drop":
        del lines[at]
    elif kind == "repeat":
        lines.insert(at, lines[at])
    elif kind == "garble":
        lines[at] = draw(st.text(max_size=80))
    elif kind == "no_h264":
        lines = [line for line in lines if "H264" not in line]
    else:
        return offer[: draw(st.integers(0, len(offer)))]
    return "\r\n".join(lines) + "\r\n"


# WHEP bodies: the real offer, broken versions of it, anything at all, and bytes that
# are not UTF-8 (such a body once gave a 500).
SDP_BODIES = st.one_of(
    st.builds(browser_offer).map(str.encode),
    mutated_offers().map(str.encode),
    st.text(max_size=2000).map(str.encode),
    st.binary(max_size=2000),
    mutated_offers().map(lambda offer: offer.encode() + b"a=x:\xff\xfe\r\n"),
)
schemathesis.openapi.media_type("application/sdp", SDP_BODIES)


@schemathesis.deserializer("application/sdp")
def read_sdp(_context: Any, response: Any) -> str:
    return str(response.content.decode("utf-8"))


schema = schemathesis.openapi.from_path(SPEC)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def gateway_url() -> Iterator[str]:
    """A gateway with a fake control plane, serving from its own event loop in a thread
    (schemathesis calls it over HTTP from this one)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        settings = {"camera_open_timeout_s": 1.0, "camera_read_timeout_s": 1.0, "probe_max_s": 1.0}
        async with running_gateway(**settings) as harness:
            state["url"], state["stop"] = harness.url, asyncio.Event()
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the gateway did not start"
    yield state["url"]
    loop.call_soon_threadsafe(state["stop"].set)
    thread.join(30)
    loop.close()


def headline_or_print(request: pytest.FixtureRequest) -> Any:
    """The repository's headline figures, or a plain print when run as `pytest gateway`."""
    try:
        return request.getfixturevalue("headline")
    except pytest.FixtureLookupError:
        return lambda name, value: None


def only_loopback(case: Any) -> None:
    """A probe connects to what it is given: keep generated camera addresses on loopback
    (a closed port), whatever host Hypothesis wrote."""
    if isinstance(case.body, dict) and isinstance(case.body.get("rtsp_url"), str):
        url = case.body["rtsp_url"]
        if not url.startswith(("rtsp://", "rtsps://")):
            return  # refused by the gateway without connecting anywhere
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            parts = urlsplit("rtsp://127.0.0.1:9/" + quote(url))
        case.body["rtsp_url"] = urlunsplit((parts.scheme, "127.0.0.1:9", parts.path, parts.query, ""))


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("credential", ["anonymous", "grant", "gateway_token"])
def test_the_gateway_api_never_fails_and_answers_as_described(
    case: Any, credential: str, gateway_url: str, request: pytest.FixtureRequest
) -> None:
    headers = {}
    if credential == "grant":
        headers["Authorization"] = f"Bearer {make_grant()}"  # fresh, valid, for this gateway
    elif credential == "gateway_token":
        headers["Authorization"] = f"Bearer {GATEWAY_TOKEN}"
    only_loopback(case)
    TALLY["examples"] += 1
    try:
        case.call_and_validate(base_url=gateway_url, headers=headers, checks=CHECKS, timeout=20)
    except Exception:
        TALLY["failures"] += 1
        raise
    finally:
        report = headline_or_print(request)
        report("security.gateway_fuzz_operations", len(list(schema.get_all_operations())))
        report("security.gateway_fuzz_examples", TALLY["examples"])
        report("security.gateway_fuzz_server_errors", TALLY["failures"])


async def test_a_probe_refuses_files_devices_and_endless_durations() -> None:
    """Found while describing the API: a probe took any address FFmpeg can open, and
    JSON's NaN made a probe that never ends."""
    import aiohttp

    async with running_gateway() as harness, aiohttp.ClientSession() as client:
        headers = {"Authorization": f"Bearer {GATEWAY_TOKEN}", "Content-Type": "application/json"}
        for body in [
            '{"rtsp_url": "file:///etc/passwd"}',
            '{"rtsp_url": "/dev/zero"}',
            '{"rtsp_url": "http://169.254.169.254/latest"}',
            '{"rtsp_url": "rtsp://127.0.0.1:9/x", "seconds": NaN}',
            '{"rtsp_url": "rtsp://127.0.0.1:9/x", "seconds": Infinity}',
            '{"rtsp_url": "rtsp://127.0.0.1:9/x", "seconds": true}',
            '{"rtsp_url": "rtsp://127.0.0.1:9/x", "rtsp_transport": "http"}',
        ]:
            async with client.post(f"{harness.url}/internal/probe", data=body, headers=headers) as response:
                assert response.status == 400, body
                assert "error" in await response.json()
        # A camera address is still probed (here: nothing listens, so unreachable).
        async with client.post(
            f"{harness.url}/internal/probe", json={"rtsp_url": "rtsp://127.0.0.1:9/x", "seconds": 1}, headers=headers
        ) as response:
            assert response.status == 200 and (await response.json())["reachable"] is False
