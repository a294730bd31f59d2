"""A push service on localhost for the tests, doing to a push what FCM or Mozilla's
autopush and then the phone's browser would: it checks the VAPID signature (RFC 8292)
against the installation's public key, and decrypts the payload (aes128gcm, RFC 8291)
with the private key of a phone the test made up."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Phone:
    """A browser's side of a subscription: its P-256 key pair and authentication secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription_json(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives in the browser."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        return json.loads(plain)


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


def verify_vapid(authorization: str, *, audience: str) -> tuple[dict[str, Any], str]:
    """Check the ``vapid t=<JWT>, k=<key>`` header as a push service does (RFC 8292 §2–3):
    an ES256 signature by ``k`` over the JWT, for this service's origin, not expired.
    Returns the claims and the key."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    token, key = values["t"], values["k"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    signature = unb64url(signature_b64)  # r ‖ s, 32 bytes each (JWS, RFC 7518 §3.4)
    assert len(signature) == 64
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600  # RFC 8292 §2: at most 24 h ahead
    assert claims["sub"].startswith(("mailto:", "https:"))
    return claims, key


class PushService:
    """Answers each push with ``status`` (201 Created, as RFC 8030 §5 says) after ``delay``."""

    def __init__(self, *, status: int = 201, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.deliveries: list[Delivery] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                service.deliveries.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(service.delay)
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def phone(self, name: str) -> Phone:
        return Phone(endpoint=f"{self.origin}/push/{name}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
