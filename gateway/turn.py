"""TURN for closed networks: time-limited credentials and the coturn that checks them.

Standard library only: the control plane (which hands credentials to the browser with
the grant) and the gateway (which uses the same TURN server) both import this module,
and the gateway must not import Django.

Credentials follow the TURN REST convention (coturn's ``use-auth-secret``):
username = ``"<expiry unix seconds>:<grant id>"``, password =
base64(HMAC-SHA1(shared secret, username)). coturn recomputes the password from the
username and refuses it after the expiry, so credentials handed out with a grant stop
working when the grant ends and nothing has to be stored or revoked on the TURN side.

``python -m gateway.turn`` writes a coturn configuration from the environment to a
private temporary file and runs ``turnserver`` with it in the foreground (Procfile).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEMO_TURN_SECRET = "demo-turn-secret-change-me"
TURN_SCHEMES = ("turn", "turns")


class TurnConfigError(ValueError):
    """An environment variable for TURN holds a value that cannot be used."""


def turn_credentials(secret: str, grant_id: str, expires_at: float) -> tuple[str, str]:
    """(username, password) valid until ``expires_at`` (unix seconds, rounded up)."""
    username = f"{math.ceil(expires_at)}:{grant_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def parse_turn_urls(text: str, name: str = "NATTILLSYN_TURN_URLS") -> tuple[str, ...]:
    """Space-separated ``turn:``/``turns:`` URLs (RFC 7065), e.g. ``turn:host:3478?transport=tcp``."""
    urls = tuple(text.split())
    for url in urls:
        scheme, sep, rest = url.partition(":")
        if scheme not in TURN_SCHEMES or not sep or not rest or any(c in url for c in '<>"'):
            raise TurnConfigError(f"{name}: {url!r} is not a turn: or turns: URL")
    return urls


def ice_servers(urls: Sequence[str], secret: str, grant_id: str, expires_at: float) -> list[dict[str, Any]]:
    """The ``RTCPeerConnection`` ``iceServers`` for one grant (empty without TURN)."""
    if not urls or not secret:
        return []
    username, credential = turn_credentials(secret, grant_id, expires_at)
    return [{"urls": list(urls), "username": username, "credential": credential}]


@dataclass(frozen=True)
class TurnServerConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 3478  # UDP and TCP on the same port
    relay_host: str = "127.0.0.1"  # where the relayed media leaves from
    realm: str = "nattillsyn"
    secret: str = DEMO_TURN_SECRET
    min_relay_port: int = 49160
    max_relay_port: int = 49260
    tls_port: int = 0  # 443 where a certificate exists; 0 = no TLS listener
    tls_cert: str = ""
    tls_key: str = ""
    # Only for a demo or test installation where the gateway and coturn share a host's
    # loopback; a real installation relays to routable addresses only.
    allow_loopback_peers: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TurnServerConfig:
        env = os.environ if env is None else env
        demo = env.get("NATTILLSYN_DEMO", "true").strip().lower() not in ("0", "false", "no", "off")
        secret = env.get("NATTILLSYN_TURN_SECRET", "").strip() or (DEMO_TURN_SECRET if demo else "")
        if not secret or (secret == DEMO_TURN_SECRET and not demo):
            raise TurnConfigError("NATTILLSYN_TURN_SECRET must be set to a real secret outside the demo")
        host, _, port = env.get("TURN_LISTEN", "127.0.0.1:3478").rpartition(":")
        tls_cert, tls_key = env.get("TURN_TLS_CERT", ""), env.get("TURN_TLS_KEY", "")
        try:
            return cls(
                listen_host=host,
                listen_port=int(port),
                relay_host=env.get("TURN_RELAY_IP", host),
                secret=secret,
                min_relay_port=int(env.get("TURN_MIN_RELAY_PORT", "49160")),
                max_relay_port=int(env.get("TURN_MAX_RELAY_PORT", "49260")),
                tls_port=int(env.get("TURN_TLS_PORT", "443")) if tls_cert and tls_key else 0,
                tls_cert=tls_cert,
                tls_key=tls_key,
                allow_loopback_peers=demo and host.startswith("127."),
            )
        except ValueError as exc:
            raise TurnConfigError(f"TURN_*: {exc}") from exc

    def render(self, pid_file: str = "") -> str:
        """coturn's configuration file: shared-secret auth, no CLI, no other listeners."""
        lines = [
            f"listening-ip={self.listen_host}",
            f"listening-port={self.listen_port}",
            f"relay-ip={self.relay_host}",
            f"min-port={self.min_relay_port}",
            f"max-port={self.max_relay_port}",
            f"realm={self.realm}",
            "use-auth-secret",
            f"static-auth-secret={self.secret}",
            "fingerprint",
            "no-cli",
            "no-multicast-peers",
            "no-software-attribute",
            "log-file=stdout",
            "simple-log",
        ]
        if pid_file:
            lines.append(f"pidfile={pid_file}")
        # Browsers speak TURN over UDP, TCP and TLS (turns:), never DTLS.
        if self.tls_port:
            lines += [f"tls-listening-port={self.tls_port}", f"cert={self.tls_cert}", f"pkey={self.tls_key}", "no-dtls"]
        else:
            lines += ["no-tls", "no-dtls"]
        if self.allow_loopback_peers:
            lines.append("allow-loopback-peers")
        return "\n".join(lines) + "\n"


def turnserver_binary() -> str:
    binary = shutil.which("turnserver") or "/usr/bin/turnserver"
    if not os.path.exists(binary):
        raise TurnConfigError("turnserver not found: install the Debian package coturn (make deps)")
    return binary


def write_config(config: TurnServerConfig, directory: str | None = None) -> str:
    """The configuration in a file only this user can read (it holds the secret)."""
    handle, path = tempfile.mkstemp(prefix="coturn-", suffix=".conf", dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(config.render(pid_file=path + ".pid"))
    return path


def command(config_path: str) -> list[str]:
    return [turnserver_binary(), "-c", config_path]


def main() -> None:
    try:
        config = TurnServerConfig.from_env()
        path = write_config(config)
        argv = command(path)
    except TurnConfigError as exc:
        sys.exit(f"turn: {exc}")
    print(f"turn: coturn on {config.listen_host}:{config.listen_port} (udp+tcp)", flush=True)
    os.execv(argv[0], argv)  # replaces this process: honcho stops coturn itself


if __name__ == "__main__":
    main()
