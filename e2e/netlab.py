"""Test networks on this machine: a network namespace joined to the host by a veth pair,
UDP blocked inside it (nftables), bandwidth shaped (tc tbf), a user-space TCP relay that
adds delay, and a coturn on free ports. Used by the TURN browser test and
benchmarks/networks.py; everything needs root and is removed again on exit.

Addresses are private /30s inside a namespace this process made: nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import ipaddress
import os
import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.turn import TurnServerConfig, command, write_config

TOOLS = ("ip", "nft", "tc", "turnserver")


def missing_prerequisite() -> str:
    """Why these networks cannot be built here, or empty when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    return f"missing {', '.join(missing)} (make deps installs them)" if missing else ""


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@dataclass(frozen=True)
class Namespace:
    name: str
    host_if: str
    host_ip: str  # the host's end of the veth pair
    ns_ip: str  # the namespace's end

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def block_udp(self) -> None:
        """Nothing but TCP leaves the namespace (loopback aside): a firewall that blocks UDP."""
        rules = (
            "table inet nattillsyn_lab {\n chain out {\n  type filter hook output priority 0; policy accept;\n"
            '  oifname "lo" accept\n  meta l4proto udp drop\n }\n}\n'
        )
        self.unblock_udp()  # whatever rules were there before
        subprocess.run([*self.exec_prefix(), "nft", "-f", "-"], input=rules.encode(), check=True, capture_output=True)

    def allow_only_tcp(self, ports: Iterable[int]) -> None:
        """Nothing leaves the namespace but TCP to ``ports`` of the host's end: a network
        that lets only HTTPS out (TURN over TLS on 443, the web server)."""
        allowed = ", ".join(str(port) for port in sorted(set(ports)))
        rules = (
            "table inet nattillsyn_lab {\n chain out {\n  type filter hook output priority 0; policy drop;\n"
            f'  oifname "lo" accept\n  ip daddr {self.host_ip} tcp dport {{ {allowed} }} accept\n }}\n}}\n'
        )
        self.unblock_udp()
        subprocess.run([*self.exec_prefix(), "nft", "-f", "-"], input=rules.encode(), check=True, capture_output=True)

    def unblock_udp(self) -> None:
        """No rules: everything may leave the namespace."""
        subprocess.run([*self.exec_prefix(), "nft", "delete", "table", "inet", "nattillsyn_lab"], capture_output=True)

    def shape(self, rate_kbit: int, inside: bool = False) -> None:
        """Token bucket on the veth: traffic towards the namespace (or out of it) at ``rate_kbit``."""
        device = ["dev", self.host_if] if not inside else ["dev", "eth-lab"]
        prefix = self.exec_prefix() if inside else []
        burst = max(1600, rate_kbit * 1000 // 8 // 50)  # 20 ms of data, at least one packet
        run(
            *prefix,
            "tc",
            "qdisc",
            "replace",
            *device,
            "root",
            "tbf",
            "rate",
            f"{rate_kbit}kbit",
            "burst",
            str(burst),
            "latency",
            "400ms",
        )


@contextlib.contextmanager
def namespace() -> Iterator[Namespace]:
    """A namespace ``nl<pid><n>`` with ``eth-lab`` inside, joined to the host by a veth /30."""
    tag = f"{os.getpid() % 100000}{random.randrange(100):02d}"
    name, host_if = f"nl{tag}", f"vl{tag}"
    subnet = f"10.{random.randrange(200, 250)}.{random.randrange(256)}.{random.randrange(0, 256, 4)}"
    base = subnet.rsplit(".", 1)
    host_ip, ns_ip = f"{base[0]}.{int(base[1]) + 1}", f"{base[0]}.{int(base[1]) + 2}"
    run("ip", "netns", "add", name)
    try:
        run("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth-lab", "netns", name)
        run("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
        run("ip", "link", "set", host_if, "up")
        run("ip", "netns", "exec", name, "ip", "addr", "add", f"{ns_ip}/30", "dev", "eth-lab")
        run("ip", "netns", "exec", name, "ip", "link", "set", "eth-lab", "up")
        run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield Namespace(name, host_if, host_ip, ns_ip)
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_tcp_udp_port(host: str) -> int:
    """A port free for both TCP and UDP (coturn listens on both)."""
    for _ in range(50):
        port = free_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for TURN")


@dataclass(frozen=True)
class Certificate:
    cert: str  # PEM files
    key: str
    spki_sha256: str  # base64, for Chromium's --ignore-certificate-errors-spki-list


def self_signed_certificate(ip: str, directory: Path) -> Certificate:
    """A certificate for ``ip`` that nothing else trusts, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nattillsyn-lab-turn")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "turn-cert.pem", directory / "turn-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return Certificate(str(cert_path), str(key_path), base64.b64encode(hashlib.sha256(spki).digest()).decode())


@contextlib.contextmanager
def coturn(
    listen_host: str, secret: str, tmp: Path, tls: Certificate | None = None, tls_port: int = 443
) -> Iterator[int]:
    """coturn on a free port of ``listen_host`` (UDP and TCP), relaying from the same address;
    with ``tls``, also TLS on ``tls_port`` of the same address (root may bind 443)."""
    port = free_tcp_udp_port(listen_host)
    relay_low = random.randrange(20000, 60000, 200)
    config = TurnServerConfig(
        listen_host=listen_host,
        listen_port=port,
        relay_host=listen_host,
        secret=secret,
        min_relay_port=relay_low,
        max_relay_port=relay_low + 199,
        tls_port=tls_port if tls else 0,
        tls_cert=tls.cert if tls else "",
        tls_key=tls.key if tls else "",
        allow_loopback_peers=listen_host.startswith("127."),
    )
    path = write_config(config, str(tmp))
    with open(tmp / f"coturn-{port}.log", "wb") as log:
        process = subprocess.Popen(command(path), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection((listen_host, port), timeout=0.5):
                if not tls:
                    break
                with contextlib.suppress(OSError), socket.create_connection((listen_host, tls_port), timeout=0.5):
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"coturn did not start: {(tmp / f'coturn-{port}.log').read_text()[-2000:]}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


class TcpRelay:
    """Forwards TCP connections from ``listen`` to ``target``, each chunk held ``delay_s``
    (in both directions) to stand in for a long path; runs its own event loop in a thread."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int], delay_s: float = 0.0) -> None:
        self.listen, self.target, self.delay_s = listen, target, delay_s
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-relay", daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> TcpRelay:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("relay did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, *self.listen))
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        self._loop.set_exception_handler(lambda _loop, _context: None)  # connections cut mid-copy
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Chunks are delayed in order by a queue, so delay adds latency, not reordering.
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((time.monotonic() + self.delay_s, data))
        except OSError:
            pass
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(OSError):
            await sender
            writer.close()
