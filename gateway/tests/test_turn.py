"""TURN credentials (the REST convention) tried against a real coturn on free ports."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import ConfigError, GatewayConfig
from gateway.turn import TurnConfigError, TurnServerConfig, command, ice_servers, turn_credentials, write_config

SECRET = "turn-test-secret"


@given(secret=st.text(min_size=1), gid=st.uuids(), expires=st.integers(min_value=0, max_value=2**40))
def test_credentials_follow_the_turn_rest_convention(secret: str, gid: Any, expires: int) -> None:
    username, password = turn_credentials(secret, str(gid), expires)
    assert username == f"{expires}:{gid}"
    expected = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    assert password == expected


def test_credentials_end_when_the_grant_ends_never_before() -> None:
    username, _ = turn_credentials(SECRET, "g", 1000.2)
    assert username == "1001:g"  # rounded up: the last instant of the grant is still covered


def test_no_turn_configured_means_no_ice_servers() -> None:
    assert ice_servers((), SECRET, "g", 1) == []
    assert ice_servers(("turn:h:3478",), "", "g", 1) == []
    [server] = ice_servers(("turn:h:3478", "turn:h:3478?transport=tcp"), SECRET, "g", 1)
    assert server["urls"] == ["turn:h:3478", "turn:h:3478?transport=tcp"] and server["username"] == "1:g"


def test_the_gateway_reads_its_turn_server_from_the_environment() -> None:
    config = GatewayConfig.from_env(
        {"NATTILLSYN_TURN_URLS": "turn:10.0.0.1:3478?transport=udp turn:10.0.0.1:3478?transport=tcp"}
    )
    assert config.turn_url == "turn:10.0.0.1:3478?transport=udp" and config.turn_secret
    assert GatewayConfig.from_env({}).turn_url == ""
    with pytest.raises(ConfigError):
        GatewayConfig.from_env({"GATEWAY_TURN_URL": "http://example.invalid"})
    with pytest.raises(ConfigError):  # outside the demo the secret must be a real one
        GatewayConfig.from_env(
            {
                "NATTILLSYN_DEMO": "false",
                "NATTILLSYN_GRANT_KEY": "k" * 32,
                "NATTILLSYN_GATEWAY_TOKEN": "t" * 32,
                "GATEWAY_TURN_URL": "turn:10.0.0.1:3478",
            }
        )


def test_the_server_configuration_refuses_the_demo_secret_outside_the_demo() -> None:
    with pytest.raises(TurnConfigError):
        TurnServerConfig.from_env({"NATTILLSYN_DEMO": "false"})
    rendered = TurnServerConfig.from_env({"NATTILLSYN_TURN_SECRET": SECRET, "TURN_LISTEN": "10.1.2.3:3478"}).render()
    assert "use-auth-secret" in rendered and f"static-auth-secret={SECRET}" in rendered
    assert "allow-loopback-peers" not in rendered and "no-tls" in rendered


def test_a_certificate_adds_a_tls_listener_on_443_and_never_dtls() -> None:
    env = {"TURN_LISTEN": "10.1.2.3:3478", "TURN_TLS_CERT": "/etc/turn/cert.pem", "TURN_TLS_KEY": "/etc/turn/key.pem"}
    lines = TurnServerConfig.from_env(env).render().splitlines()
    assert {"tls-listening-port=443", "cert=/etc/turn/cert.pem", "pkey=/etc/turn/key.pem", "no-dtls"} <= set(lines)
    assert "no-tls" not in lines
    assert "tls-listening-port=5349" in TurnServerConfig.from_env({**env, "TURN_TLS_PORT": "5349"}).render()


def _free_port() -> int:
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if shutil.which("turnserver") is None:
        pytest.skip("coturn is not installed (make deps)")
    tmp = tmp_path_factory.mktemp("coturn")
    port, relay_low = _free_port(), 20000 + _free_port() % 200 * 200
    config = TurnServerConfig(listen_port=port, secret=SECRET, min_relay_port=relay_low, max_relay_port=relay_low + 199)
    log = Path(tmp) / "coturn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command(write_config(config, str(tmp))), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=5)


async def _allocate(port: int, username: str, password: str, transport: str) -> tuple[str, int]:
    turn, _protocol = await asyncio.wait_for(
        create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", port), username, password, lifetime=60, transport=transport
        ),
        5,
    )
    try:
        return turn.get_extra_info("sockname")
    finally:
        turn.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_coturn_relays_for_a_grant_until_it_ends(coturn: int, transport: str) -> None:
    username, password = turn_credentials(SECRET, "grant-1", time.time() + 30)
    relayed = asyncio.run(_allocate(coturn, username, password, transport))
    assert relayed[0] == "127.0.0.1" and relayed[1] > 0


def test_coturn_refuses_ended_or_forged_credentials(coturn: int) -> None:
    username, password = turn_credentials(SECRET, "grant-1", time.time() - 60)
    with pytest.raises(TransactionFailed):
        asyncio.run(_allocate(coturn, username, password, "tcp"))
    username, _ = turn_credentials(SECRET, "grant-1", time.time() + 30)
    _, forged = turn_credentials("another-secret", "grant-1", time.time() + 30)
    with pytest.raises(TransactionFailed):
        asyncio.run(_allocate(coturn, username, forged, "tcp"))
