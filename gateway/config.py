"""Gateway settings, read once from environment variables.

Names and demo defaults are the ones in docs/GATEWAY_PROTOCOL.md. The readers and their
rules are the web side's too (``common/env.py``: empty means unset, a bad value fails
loudly, NAME_FILE for secrets); the helpers here add what only the gateway reads
(URLs, origins, ICE servers, host:port, the demo's published secrets refused).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from common.env import ConfigError, env_bool, env_choice, env_float, env_int, env_list, env_str
from gateway.turn import DEMO_TURN_SECRET, TurnConfigError, parse_turn_urls

log = logging.getLogger(__name__)

DEMO_GRANT_KEY = "demo-grant-key-change-me"
DEMO_GATEWAY_TOKEN = "demo-gateway-token-change-me"
BURST_RETIME_MODES = ("compress", "original")


def env_secret(env: Mapping[str, str], name: str, default: str, *, demo: bool = True) -> str:
    """``NAME`` or the contents of the file named by ``NAME_FILE`` (common.env's rules).

    Outside the demo a missing secret, or the demo's published one, stops the
    gateway: anyone could sign grants for every camera with the published key.
    """
    value = env_str(name, "", environ=env)
    if not value:
        if not demo:
            raise ConfigError(f"{name} must be set when NATTILLSYN_DEMO is off")
        value = default
    if value == default:
        if not demo:
            raise ConfigError(f"{name} is the demo's published default; set a real secret")
        log.warning("%s is the demo default; set a real secret outside the demo", name)
    return value


def env_optional_secret(env: Mapping[str, str], name: str) -> str:
    """``NAME`` or ``NAME_FILE``, or empty when neither is set."""
    return env_str(name, "", environ=env)


def env_required(env: Mapping[str, str], name: str, default: str) -> str:
    value = env_str(name, default, environ=env)
    if not value:
        raise ConfigError(f"{name} must not be empty")
    return value


def env_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env_required(env, name, default).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def env_origins(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """Comma-separated browser origins (scheme://host[:port], no path)."""
    origins = tuple(item.rstrip("/") for item in env_list(name, default, environ=env))
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ConfigError(f"{name}: {origin!r} is not an origin like https://host:port")
    return origins


def env_ice_servers(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Space-separated STUN/TURN URLs (RFC 7064/7065) handed to WHEP players as
    ``Link: <url>; rel="ice-server"``; none by default (the gateway is reached directly)."""
    servers = tuple(env_str(name, "", environ=env).split())
    for server in servers:
        scheme, sep, rest = server.partition(":")
        if scheme not in ("stun", "stuns", "turn", "turns") or not sep or not rest or any(c in server for c in '<>"'):
            raise ConfigError(f"{name}: {server!r} is not a stun:, stuns:, turn: or turns: URL")
    return servers


def env_host_port(env: Mapping[str, str], name: str, default: str) -> tuple[str, int]:
    value = env_required(env, name, default)
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"{name} must be host:port, got {value!r}")
    return host.strip("[]"), int(port_text)


@dataclass(frozen=True)
class GatewayConfig:
    gateway_id: str = "gw1"
    bind_host: str = "127.0.0.1"
    bind_port: int = 8010
    control_url: str = "http://127.0.0.1:8000"
    grant_key: bytes = DEMO_GRANT_KEY.encode()
    gateway_token: str = DEMO_GATEWAY_TOKEN
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000", "http://localhost:8000")
    camera_open_timeout_s: float = 5.0  # RTSP connect + DESCRIBE; then 502 to the browser
    camera_read_timeout_s: float = 5.0  # a camera silent this long is lost
    control_timeout_s: float = 3.0  # one call to the control plane
    revoke_poll_s: float = 1.0
    # Poll with no grant too: the poll is the heartbeat by which the control plane knows
    # this gateway alive (cameras/gateways.py). Off only for a gateway nobody lists (tests).
    heartbeat: bool = True
    # With no successful revocation poll for this long we cannot promise the 5 s
    # revocation bound any more, so live views are stopped (fail closed).
    revoke_grace_s: float = 4.0
    connect_timeout_s: float = 15.0  # offer answered → first frame sent, else the view ends
    burst_retime: str = "compress"  # how the cached GOP is timed for a joining viewer
    # What the gateway sends one viewer, on average, in bursts of relay.PACING_BUCKET_BYTES:
    # the cached GOP follows its keyframe at this rate (coturn drops an unpaced burst on
    # its way to a TURN/TCP client; docs/NETWORKS.md). 0: unpaced.
    pacing_kbit: int = 16_000
    viewer_queue_packets: int = 400  # ≥ one GOP at 30 fps and 8 s keyframe interval
    gop_cache_bytes: int = 16 * 1024 * 1024
    probe_max_s: float = 10.0
    demo: bool = True
    # Reverse proxies in front of the gateway that append to X-Forwarded-For, as
    # TRUSTED_PROXY_COUNT on the web side: 0 means the socket's peer is the viewer.
    trusted_proxy_count: int = 0
    ice_servers: tuple[str, ...] = ()  # stun:/turn: URLs for WHEP players (Link headers)
    ice_username: str = ""  # long-term TURN credentials sent with the turn: URLs
    ice_credential: str = ""
    metrics_token: str = ""  # Prometheus scrapes /metrics with it; empty: no /metrics
    # TURN the gateway itself uses (aiortc takes one TURN URL), with credentials derived
    # per grant from the secret shared with coturn and the control plane (gateway/turn.py).
    turn_url: str = ""
    turn_secret: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        bind_host, bind_port = env_host_port(env, "GATEWAY_BIND", "127.0.0.1:8010")
        demo = env_bool("NATTILLSYN_DEMO", True, environ=env)
        number = partial(env_float, environ=env)
        whole = partial(env_int, environ=env)
        turn_url = env_turn_url(env)
        return cls(
            gateway_id=env_required(env, "GATEWAY_ID", "gw1"),
            bind_host=bind_host,
            bind_port=bind_port,
            control_url=env_url(env, "NATTILLSYN_CONTROL_URL", "http://127.0.0.1:8000"),
            grant_key=env_secret(env, "NATTILLSYN_GRANT_KEY", DEMO_GRANT_KEY, demo=demo).encode(),
            gateway_token=env_secret(env, "NATTILLSYN_GATEWAY_TOKEN", DEMO_GATEWAY_TOKEN, demo=demo),
            allowed_origins=env_origins(env, "GATEWAY_ALLOWED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000"),
            camera_open_timeout_s=number("GATEWAY_CAMERA_OPEN_TIMEOUT_S", 5.0, minimum=0.5, maximum=60),
            camera_read_timeout_s=number("GATEWAY_CAMERA_READ_TIMEOUT_S", 5.0, minimum=0.5, maximum=60),
            control_timeout_s=number("GATEWAY_CONTROL_TIMEOUT_S", 3.0, minimum=0.1, maximum=30),
            revoke_poll_s=number("GATEWAY_REVOKE_POLL_S", 1.0, minimum=0.1, maximum=2.0),
            heartbeat=env_bool("GATEWAY_HEARTBEAT", True, environ=env),
            revoke_grace_s=number("GATEWAY_REVOKE_GRACE_S", 4.0, minimum=0.5, maximum=4.5),
            connect_timeout_s=number("GATEWAY_CONNECT_TIMEOUT_S", 15.0, minimum=1, maximum=120),
            burst_retime=env_choice("GATEWAY_BURST_RETIME", "compress", BURST_RETIME_MODES, environ=env),
            pacing_kbit=whole("GATEWAY_PACING_KBIT", 16_000, minimum=0, maximum=1_000_000),
            viewer_queue_packets=whole("GATEWAY_VIEWER_QUEUE_PACKETS", 400, minimum=16, maximum=10_000),
            gop_cache_bytes=whole("GATEWAY_GOP_CACHE_BYTES", 16 * 1024 * 1024, minimum=64 * 1024),
            probe_max_s=number("GATEWAY_PROBE_MAX_S", 10.0, minimum=1, maximum=60),
            demo=demo,
            trusted_proxy_count=whole("GATEWAY_TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5),
            ice_servers=env_ice_servers(env, "GATEWAY_ICE_SERVERS"),
            ice_username=env_str("GATEWAY_ICE_USERNAME", "", environ=env),
            ice_credential=env_optional_secret(env, "GATEWAY_ICE_CREDENTIAL"),
            metrics_token=env_optional_secret(env, "NATTILLSYN_METRICS_TOKEN"),
            turn_url=turn_url,
            turn_secret=env_secret(env, "NATTILLSYN_TURN_SECRET", DEMO_TURN_SECRET, demo=demo) if turn_url else "",
        )


def env_turn_url(env: Mapping[str, str]) -> str:
    """``GATEWAY_TURN_URL``, else the first of the browsers' ``NATTILLSYN_TURN_URLS``; or none."""
    try:
        urls = parse_turn_urls(env.get("GATEWAY_TURN_URL", ""), "GATEWAY_TURN_URL") or parse_turn_urls(
            env.get("NATTILLSYN_TURN_URLS", "")
        )
    except TurnConfigError as exc:
        raise ConfigError(str(exc)) from exc
    return urls[0] if urls else ""
