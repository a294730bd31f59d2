"""Gateway settings, read once from environment variables.

Names and demo defaults are the ones in docs/GATEWAY_PROTOCOL.md. Every helper fails
loudly on a bad value: a gateway that silently ignored a typo in a timeout or an
origin list would be a privacy bug, not a convenience.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gateway.turn import DEMO_TURN_SECRET, TurnConfigError, parse_turn_urls

log = logging.getLogger(__name__)

DEMO_GRANT_KEY = "demo-grant-key-change-me"
DEMO_GATEWAY_TOKEN = "demo-gateway-token-change-me"
BURST_RETIME_MODES = ("compress", "original")


class ConfigError(ValueError):
    """An environment variable holds a value the gateway cannot use."""


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, default).strip()
    if not value:
        raise ConfigError(f"{name} must not be empty")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """The same spellings as the web side's ``nattillsyn.env.env_bool``."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def env_secret(env: Mapping[str, str], name: str, default: str, *, demo: bool = True) -> str:
    """``NAME`` or the contents of the file named by ``NAME_FILE`` (not both).

    Outside the demo a missing secret, or the demo's published one, stops the
    gateway: anyone could sign grants for every camera with the published key.
    """
    file_name = env.get(f"{name}_FILE")
    if file_name is not None:
        if name in env:
            raise ConfigError(f"set {name} or {name}_FILE, not both")
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from exc
        if not value:
            raise ConfigError(f"{name}_FILE: {file_name} is empty")
    else:
        if not demo and not env.get(name, "").strip():
            raise ConfigError(f"{name} must be set when NATTILLSYN_DEMO is off")
        value = env_str(env, name, default)
    if value == default:
        if not demo:
            raise ConfigError(f"{name} is the demo's published default; set a real secret")
        log.warning("%s is the demo default; set a real secret outside the demo", name)
    return value


def env_optional_secret(env: Mapping[str, str], name: str) -> str:
    """``NAME`` or ``NAME_FILE``, or empty when neither is set."""
    if f"{name}_FILE" not in env and not env.get(name, "").strip():
        return ""
    return env_secret(env, name, "")


def env_float(
    env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0, maximum: float | None = None
) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value != value or value < minimum or (maximum is not None and value > maximum):  # NaN included
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {raw!r}")
    return value


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum or (maximum is not None and value > maximum):
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {raw!r}")
    return value


def env_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(env, name, default)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env_str(env, name, default).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def env_origins(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """Comma-separated browser origins (scheme://host[:port], no path)."""
    origins = tuple(item.strip().rstrip("/") for item in env.get(name, default).split(",") if item.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ConfigError(f"{name}: {origin!r} is not an origin like https://host:port")
    return origins


def env_ice_servers(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Space-separated STUN/TURN URLs (RFC 7064/7065) handed to WHEP players as
    ``Link: <url>; rel="ice-server"``; none by default (the gateway is reached directly)."""
    servers = tuple(env.get(name, "").split())
    for server in servers:
        scheme, sep, rest = server.partition(":")
        if scheme not in ("stun", "stuns", "turn", "turns") or not sep or not rest or any(c in server for c in '<>"'):
            raise ConfigError(f"{name}: {server!r} is not a stun:, stuns:, turn: or turns: URL")
    return servers


def env_host_port(env: Mapping[str, str], name: str, default: str) -> tuple[str, int]:
    value = env_str(env, name, default)
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
    # With no successful revocation poll for this long we cannot promise the 5 s
    # revocation bound any more, so live views are stopped (fail closed).
    revoke_grace_s: float = 4.0
    connect_timeout_s: float = 15.0  # offer answered → first frame sent, else the view ends
    burst_retime: str = "compress"  # how the cached GOP is timed for a joining viewer
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
    # TURN the gateway itself uses (aiortc takes one TURN URL), with credentials derived
    # per grant from the secret shared with coturn and the control plane (gateway/turn.py).
    turn_url: str = ""
    turn_secret: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        bind_host, bind_port = env_host_port(env, "GATEWAY_BIND", "127.0.0.1:8010")
        demo = env_bool(env, "NATTILLSYN_DEMO", True)
        turn_url = env_turn_url(env)
        return cls(
            gateway_id=env_str(env, "GATEWAY_ID", "gw1"),
            bind_host=bind_host,
            bind_port=bind_port,
            control_url=env_url(env, "NATTILLSYN_CONTROL_URL", "http://127.0.0.1:8000"),
            grant_key=env_secret(env, "NATTILLSYN_GRANT_KEY", DEMO_GRANT_KEY, demo=demo).encode(),
            gateway_token=env_secret(env, "NATTILLSYN_GATEWAY_TOKEN", DEMO_GATEWAY_TOKEN, demo=demo),
            allowed_origins=env_origins(env, "GATEWAY_ALLOWED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000"),
            camera_open_timeout_s=env_float(env, "GATEWAY_CAMERA_OPEN_TIMEOUT_S", 5.0, minimum=0.5, maximum=60),
            camera_read_timeout_s=env_float(env, "GATEWAY_CAMERA_READ_TIMEOUT_S", 5.0, minimum=0.5, maximum=60),
            control_timeout_s=env_float(env, "GATEWAY_CONTROL_TIMEOUT_S", 3.0, minimum=0.1, maximum=30),
            revoke_poll_s=env_float(env, "GATEWAY_REVOKE_POLL_S", 1.0, minimum=0.1, maximum=2.0),
            revoke_grace_s=env_float(env, "GATEWAY_REVOKE_GRACE_S", 4.0, minimum=0.5, maximum=4.5),
            connect_timeout_s=env_float(env, "GATEWAY_CONNECT_TIMEOUT_S", 15.0, minimum=1, maximum=120),
            burst_retime=env_choice(env, "GATEWAY_BURST_RETIME", "compress", BURST_RETIME_MODES),
            viewer_queue_packets=env_int(env, "GATEWAY_VIEWER_QUEUE_PACKETS", 400, minimum=16, maximum=10_000),
            gop_cache_bytes=env_int(env, "GATEWAY_GOP_CACHE_BYTES", 16 * 1024 * 1024, minimum=64 * 1024),
            probe_max_s=env_float(env, "GATEWAY_PROBE_MAX_S", 10.0, minimum=1, maximum=60),
            demo=demo,
            trusted_proxy_count=env_int(env, "GATEWAY_TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5),
            ice_servers=env_ice_servers(env, "GATEWAY_ICE_SERVERS"),
            ice_username=env.get("GATEWAY_ICE_USERNAME", "").strip(),
            ice_credential=env_optional_secret(env, "GATEWAY_ICE_CREDENTIAL"),
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
