"""Camera passwords are stored encrypted and only ever leave for the gateway."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    return Fernet(settings.CAMERA_CREDENTIALS_KEY.encode())


def encrypt_password(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode() if password else ""


def decrypt_password(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode() if token else ""


def stream_url_with_credentials(stream_url: str, username: str, password_encrypted: str) -> str:
    if not username:
        return stream_url
    parts = urlsplit(stream_url)
    host = parts.hostname or ""
    netloc = f"{quote(username, safe='')}:{quote(decrypt_password(password_encrypted), safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
