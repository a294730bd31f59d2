"""Camera passwords are stored encrypted and only ever leave for the gateway."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from nattillsyn.crypto import decrypt as decrypt_password
from nattillsyn.crypto import encrypt as encrypt_password

__all__ = ["decrypt_password", "encrypt_password", "stream_url_with_credentials"]


def stream_url_with_credentials(stream_url: str, username: str, password_encrypted: str) -> str:
    if not username:
        return stream_url
    parts = urlsplit(stream_url)
    host = parts.hostname or ""
    netloc = f"{quote(username, safe='')}:{quote(decrypt_password(password_encrypted), safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
