"""The installation's VAPID key (RFC 8292): it signs every push, and its public half is
the "application server key" a phone subscribes with, so pushes from anyone else are refused."""

from __future__ import annotations

import base64
import os
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid02


def _demo_key_pem() -> bytes:
    """The demo's key, made once and kept in VAR_DIR, so a phone subscribed yesterday
    still gets pushes after `make run` starts again."""
    path = settings.PUSH_VAPID_DEMO_KEY_PATH
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Two processes (web, worker) may start at once: the first writer wins, the other reads it.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
    return path.read_bytes()


@cache
def _key_pem(configured: str, demo: bool) -> bytes | None:
    if configured:
        return configured.encode()
    return _demo_key_pem() if demo else None


def vapid() -> Vapid02 | None:
    """The signing key, or None when push is not set up (production without a key)."""
    pem = _key_pem(settings.PUSH_VAPID_PRIVATE_KEY, settings.DEMO_MODE)
    return None if pem is None else Vapid02.from_pem(pem)


def application_server_key() -> str:
    """The public key as the browser's ``pushManager.subscribe`` wants it (uncompressed
    P-256 point, base64url without padding); empty when push is not set up."""
    key = vapid()
    if key is None:
        return ""
    raw = key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
