"""WHEP as draft-ietf-wish-whep has it, for what the gateway supports, and the hardening
of issue 12: status codes a WHEP player acts on, CORS for what players send, ICE servers
as Link headers, limits from the control plane, the viewer's address, bad bytes."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from gateway.config import ConfigError, GatewayConfig
from gateway.server import CORS_EXPOSE_HEADERS, SESSION_METHODS, viewer_ip
from gateway.tests.fakes import (
    GATEWAY_TOKEN,
    ORIGIN,
    FakeCamera,
    WhepClient,
    assert_cut_at,
    make_grant,
    running_gateway,
)

# -- the resource and its methods ---------------------------------------------------------


async def test_options_on_the_endpoint_names_the_methods_and_accept_post() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        response = await http.options(f"{harness.url}/whep")
        assert response.status == 200
        assert response.headers["Accept-Post"] == "application/sdp"
        assert {"POST", "OPTIONS"} <= set(response.headers["Allow"].replace(" ", "").split(","))


async def test_get_answers_2xx_without_a_body_on_the_endpoint_and_a_live_session() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        response = await http.get(f"{harness.url}/whep")
        assert response.status == 204 and await response.read() == b""
        grant = make_grant()
        client = WhepClient()
        assert await client.connect(harness.url, grant) == 201
        response = await http.get(f"{harness.url}{client.location}")
        assert response.status == 204 and await response.read() == b""
        assert await client.delete(harness.url, grant) == 200
        assert (await http.get(f"{harness.url}{client.location}")).status == 404
        await client.close()


async def test_every_405_names_the_allowed_methods() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        for method, path in [("PUT", "/whep"), ("DELETE", "/whep"), ("PATCH", "/whep"), ("POST", "/whep/sessions/x")]:
            response = await http.request(method, f"{harness.url}{path}")
            assert response.status == 405, (method, path)
            assert response.headers["Allow"], (method, path)
            assert method not in response.headers["Allow"]
        response = await http.put(f"{harness.url}/health")
        assert response.status == 405 and "GET" in response.headers["Allow"]


async def test_patch_gets_a_405_players_understand_with_cors_headers() -> None:
    # Non-trickle only: aiortc can neither restart ICE nor take trickled candidates
    # after the answer; WHEP lets a server say so with 405.
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        grant = make_grant()
        client = WhepClient()
        assert await client.connect(harness.url, grant) == 201
        response = await http.patch(
            f"{harness.url}{client.location}",
            data="a=ice-ufrag:x\r\na=ice-pwd:y\r\n",
            headers={
                "Origin": ORIGIN,
                "Authorization": f"Bearer {grant}",
                "Content-Type": "application/trickle-ice-sdpfrag",
                "If-Match": "*",
            },
        )
        assert response.status == 405
        assert response.headers["Allow"] == SESSION_METHODS
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "trickle ICE" in (await response.json())["error"]
        assert harness.gateway.has_session(client.session_id)  # the view is untouched
        await client.close()


async def test_cors_preflight_allows_what_whep_players_send_and_exposes_what_they_read() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        for path, method, headers in [
            ("/whep", "POST", "authorization, content-type"),
            ("/whep/sessions/x", "PATCH", "authorization, content-type, if-match"),
            ("/whep/sessions/x", "DELETE", "authorization"),
        ]:
            response = await http.options(
                f"{harness.url}{path}",
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": headers,
                },
            )
            assert response.status == 204
            assert method in response.headers["Access-Control-Allow-Methods"]
            allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
            assert {h.strip() for h in headers.split(",")} <= allowed
            exposed = set(response.headers["Access-Control-Expose-Headers"].replace(" ", "").split(","))
            assert {"Location", "ETag", "Link", "Accept-Patch"} <= exposed
        assert "Location" in CORS_EXPOSE_HEADERS


# -- status codes a player acts on --------------------------------------------------------


async def test_a_401_carries_www_authenticate_bearer() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        for headers in [{}, {"Authorization": "Bearer v1.forged.grant"}, {"Authorization": "Basic eDp5"}]:
            response = await http.post(
                f"{harness.url}/whep", data="v=0", headers={"Content-Type": "application/sdp", **headers}
            )
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        response = await http.delete(f"{harness.url}/whep/sessions/x")
        assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Bearer ")


async def test_a_spent_expired_or_revoked_grant_gets_a_final_403_never_409() -> None:
    async with running_gateway() as harness:
        spent = make_grant("g-spent")
        first = WhepClient()
        assert await first.connect(harness.url, spent) == 201
        harness.control.redeem_answers["g-revoked"] = (403, {"error": "revoked"})
        for grant in (spent, make_grant(issued_ago_s=200, starts_in_s=-60), make_grant("g-revoked")):
            client = WhepClient()
            assert await client.connect(harness.url, grant) == 403
            assert client.error is not None and client.error["error"]
            assert client.error["code"] == "grant_refused"
            await client.close()
        await first.close()


async def test_a_wrong_content_type_is_415_with_accept_post() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        response = await http.post(
            f"{harness.url}/whep",
            data="v=0",
            headers={"Authorization": f"Bearer {make_grant()}", "Content-Type": "text/plain"},
        )
        assert response.status == 415 and response.headers["Accept-Post"] == "application/sdp"
        assert harness.control.redeemed == []


async def test_ice_servers_are_link_headers_when_configured_and_absent_by_default() -> None:
    async with running_gateway() as harness:
        client = WhepClient()
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{harness.url}/whep",
                data=await client.offer_sdp(),
                headers={"Authorization": f"Bearer {make_grant()}", "Content-Type": "application/sdp"},
            )
            assert response.status == 201 and "Link" not in response.headers
        await client.close()
    servers = ("stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp")
    async with running_gateway(ice_servers=servers, ice_username="u1", ice_credential="s3cret") as harness:
        client = WhepClient()
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{harness.url}/whep",
                data=await client.offer_sdp(),
                headers={"Authorization": f"Bearer {make_grant()}", "Content-Type": "application/sdp"},
            )
            assert response.status == 201
            assert response.headers.getall("Link") == [
                '<stun:stun.example.org:3478>; rel="ice-server"',
                '<turn:turn.example.org:3478?transport=udp>; rel="ice-server"; username="u1"; '
                'credential="s3cret"; credential-type="password"',
            ]
        await client.close()


# -- the end of a view --------------------------------------------------------------------


@pytest.mark.usefixtures("undecoded_receiver")
async def test_delete_is_its_own_end_reason_and_a_late_delete_is_404() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        grant = make_grant("g-deleted")
        client = WhepClient()
        assert await client.connect(harness.url, grant) == 201
        await client.first()
        assert await client.delete(harness.url, grant) == 200
        assert (await harness.control.wait_event("ended", client.session_id))["reason"] == "viewer_deleted"
        assert await client.delete(harness.url, grant) == 404
        await client.close()
        # Ended by the gateway (grant end): the same 404, and the end keeps its reason.
        short = make_grant("g-short", max_view_s=1)
        other = WhepClient()
        assert await other.connect(harness.url, short) == 201
        ended = await harness.control.wait_event("ended", other.session_id, timeout_s=5)
        assert ended["reason"] == "grant_end"
        assert await other.delete(harness.url, short) == 404
        await other.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_the_browser_going_away_is_viewer_closed() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant("g-gone")) == 201
        await client.first()
        await client.close()  # no DELETE: the tab closed
        ended = await harness.control.wait_event("ended", client.session_id, timeout_s=10)
        assert ended["reason"] == "viewer_closed"


# -- limits from the control plane --------------------------------------------------------


@pytest.mark.usefixtures("undecoded_receiver")
async def test_the_view_time_comes_from_the_redeem_answer() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        harness.control.limits = {"max_view_s": 1}
        client = WhepClient()
        assert await client.connect(harness.url, make_grant("g-shortened", max_view_s=30)) == 201
        first_frame = await harness.control.wait_event("first_frame", client.session_id)
        ended = await harness.control.wait_event("ended", client.session_id, timeout_s=5)
        assert ended["reason"] == "grant_end"
        assert_cut_at(ended["at"] - first_frame["at"], 1.0)
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_the_hard_end_comes_from_the_redeem_answer() -> None:
    import time

    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        harness.control.limits = {"hard_end": time.time() + 1.5}
        client = WhepClient()
        assert await client.connect(harness.url, make_grant("g-window", max_view_s=30, ends_in_s=60)) == 201
        ended = await harness.control.wait_event("ended", client.session_id, timeout_s=5)
        assert ended["reason"] == "grant_end"
        assert_cut_at(ended["at"], harness.control.limits["hard_end"])
        await client.close()


@pytest.mark.usefixtures("undecoded_receiver")
async def test_the_grants_own_limits_stay_a_ceiling() -> None:
    async with running_gateway(FakeCamera(fps=25, keyint_s=0.5)) as harness:
        harness.control.limits = {"max_view_s": 600}  # a control plane that got it wrong
        client = WhepClient()
        assert await client.connect(harness.url, make_grant("g-ceiling", max_view_s=1)) == 201
        first_frame = await harness.control.wait_event("first_frame", client.session_id)
        ended = await harness.control.wait_event("ended", client.session_id, timeout_s=5)
        assert_cut_at(ended["at"] - first_frame["at"], 1.0)
        await client.close()


async def test_a_malformed_limit_in_the_redeem_answer_fails_closed() -> None:
    async with running_gateway() as harness:
        harness.control.limits = {"max_view_s": "forever"}  # type: ignore[dict-item]
        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 503
        await client.close()
        assert harness.camera.opens == 0


# -- the viewer's address -----------------------------------------------------------------


async def test_the_viewers_address_goes_with_the_redeem() -> None:
    async with running_gateway() as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 201
        assert harness.control.redeem_bodies[0]["viewer_ip"] == "127.0.0.1"
        await client.close()


def _request(peer: str, forwarded: list[str]) -> Any:
    transport = type("Transport", (), {"get_extra_info": lambda self, name, default=None: (peer, 5000)})()
    headers = [("X-Forwarded-For", value) for value in forwarded]
    return make_mocked_request("POST", "/whep", headers=headers, transport=transport)


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        (0, "198.51.100.7", ["10.0.0.1"], "198.51.100.7"),  # the client's own claim is ignored
        (0, "::ffff:10.20.3.4", [], "10.20.3.4"),  # dual-stack socket: the same IPv4 address
        (1, "127.0.0.1", ["10.0.0.1, 198.51.100.7"], "198.51.100.7"),
        (1, "127.0.0.1", ["10.0.0.1", "198.51.100.7"], "198.51.100.7"),  # repeated headers
        (2, "127.0.0.1", ["10.0.0.1, 198.51.100.7, 203.0.113.2"], "198.51.100.7"),
        (2, "127.0.0.1", ["198.51.100.7"], None),  # fewer hops than proxies: unknown
        (1, "127.0.0.1", ["not-an-address"], None),
    ],
)
def test_the_viewers_address_is_read_as_the_web_side_reads_it(
    proxies: int, peer: str, forwarded: list[str], expected: str | None
) -> None:
    assert viewer_ip(_request(peer, forwarded), proxies) == expected


# -- /health ------------------------------------------------------------------------------


async def test_health_says_only_up_without_the_gateway_token() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 201
        anonymous = await http.get(f"{harness.url}/health")
        assert anonymous.status == 200 and await anonymous.json() == {"status": "up"}
        wrong = await http.get(f"{harness.url}/health", headers={"Authorization": "Bearer wrong"})
        assert await wrong.json() == {"status": "up"}
        detailed = await http.get(f"{harness.url}/health", headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"})
        assert await detailed.json() == {
            "status": "up",
            "gateway": "gw-test",
            "sessions": 1,
            "readers": 1,
            "events_pending": 0,
        }
        await client.close()


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"NATTILLSYN_GRANT_KEY": "a-real-key"},
        {"NATTILLSYN_GATEWAY_TOKEN": "a-real-token"},
        {"NATTILLSYN_GRANT_KEY": "demo-grant-key-change-me", "NATTILLSYN_GATEWAY_TOKEN": "a-real-token"},
        {"NATTILLSYN_GRANT_KEY": "a-real-key", "NATTILLSYN_GATEWAY_TOKEN": "demo-gateway-token-change-me"},
        {"NATTILLSYN_GRANT_KEY": " ", "NATTILLSYN_GATEWAY_TOKEN": "a-real-token"},
    ],
)
def test_it_refuses_to_start_outside_the_demo_with_missing_or_demo_secrets(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        GatewayConfig.from_env({"NATTILLSYN_DEMO": "false", **env})


def test_it_starts_outside_the_demo_with_real_secrets() -> None:
    config = GatewayConfig.from_env(
        {"NATTILLSYN_DEMO": "false", "NATTILLSYN_GRANT_KEY": "k", "NATTILLSYN_GATEWAY_TOKEN": "t"}
    )
    assert config.grant_key == b"k" and not config.demo
    assert GatewayConfig.from_env({}).demo  # the demo keeps its published defaults


def test_ice_servers_come_from_the_environment() -> None:
    assert GatewayConfig.from_env({}).ice_servers == ()
    config = GatewayConfig.from_env(
        {"GATEWAY_ICE_SERVERS": "stun:a.example:3478 turns:b.example:443", "GATEWAY_ICE_USERNAME": "u"}
    )
    assert config.ice_servers == ("stun:a.example:3478", "turns:b.example:443")
    for bad in ("http://a.example", 'stun:"x"', "turn:"):
        with pytest.raises(ConfigError):
            GatewayConfig.from_env({"GATEWAY_ICE_SERVERS": bad})
    with pytest.raises(ConfigError):
        GatewayConfig.from_env({"NATTILLSYN_DEMO": "maybe"})


# -- bytes that are not UTF-8 or ASCII, from anyone ---------------------------------------


@pytest.fixture(scope="module")
def gateway_address() -> Iterator[tuple[str, int]]:
    """A gateway on its own event loop in a thread, for plain blocking sockets."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        async with running_gateway(camera_open_timeout_s=1.0) as harness:
            state["url"], state["stop"] = harness.url, asyncio.Event()
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the gateway did not start"
    host, port = state["url"].removeprefix("http://").split(":")
    yield host, int(port)
    loop.call_soon_threadsafe(state["stop"].set)
    thread.join(30)
    loop.close()


def raw_status(address: tuple[str, int], request: bytes) -> int:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def http_request(method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: gateway", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


ROUTES = [("POST", "/whep"), ("DELETE", "/whep/sessions/x"), ("GET", "/health")]
ROUTES += [("POST", "/internal/prepare"), ("POST", "/internal/probe"), ("OPTIONS", "/whep")]
HEADER_BYTES = st.binary(min_size=1, max_size=60).filter(lambda value: b"\r" not in value and b"\n" not in value)


def test_it_never_answers_500_to_the_two_requests_that_once_got_one(gateway_address: tuple[str, int]) -> None:
    not_utf8 = http_request(
        "POST",
        "/whep",
        [(b"Authorization", b"Bearer " + make_grant().encode()), (b"Content-Type", b"application/sdp")],
        b"v=0\r\ns=\xff\xfe\xfa\r\n",
    )
    assert raw_status(gateway_address, not_utf8) == 400
    for token in (b"v1.\xc3\xa5\xc3\xa4.\xff", b"\xe2\x82\xac", make_grant().encode() + b"\xa0"):
        non_ascii = http_request(
            "POST", "/whep", [(b"Authorization", b"Bearer " + token), (b"Content-Type", b"application/sdp")], b"v=0"
        )
        assert raw_status(gateway_address, non_ascii) == 401
        token_call = http_request(
            "POST", "/internal/prepare", [(b"Authorization", b"Bearer " + token)], b'{"grant": "x"}'
        )
        assert raw_status(gateway_address, token_call) == 401


@given(
    route=st.sampled_from(ROUTES),
    authorization=st.one_of(
        HEADER_BYTES, HEADER_BYTES.map(lambda value: b"Bearer " + value), st.just(b"Bearer " + GATEWAY_TOKEN.encode())
    ),
    content_type=st.one_of(
        HEADER_BYTES,
        st.sampled_from([b"application/sdp", b"application/json", b"application/json; charset=no-such-charset"]),
    ),
    origin=st.one_of(st.none(), HEADER_BYTES, st.just(ORIGIN.encode())),
    body=st.one_of(st.binary(max_size=400), st.just(b'{"rtsp_url": "rtsp://127.0.0.1:9/\xff", "grant": "\xfe"}')),
)
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_bad_bytes_in_headers_and_bodies_never_give_a_server_error(
    gateway_address: tuple[str, int],
    route: tuple[str, str],
    authorization: bytes,
    content_type: bytes,
    origin: bytes | None,
    body: bytes,
) -> None:
    headers = [(b"Authorization", authorization), (b"Content-Type", content_type)]
    if origin is not None:
        headers.append((b"Origin", origin))
    status = raw_status(gateway_address, http_request(*route, headers, body))
    assert status < 500, (route, headers, body)
