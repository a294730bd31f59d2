"""The relying party: Authlib's OpenID Connect client, one per identity provider.

Authlib does the protocol: discovery, the authorization request with state, nonce
and PKCE (S256), the code exchange with the client secret, and the ID token's
signature (the provider's JWKS), issuer, audience, expiry and nonce. This module adds
what a multi-tenant site needs around it: the provider's configuration from the
database, an issuer that must match the configured one, a time limit on every call.
"""

from __future__ import annotations

import hashlib
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import DjangoIntegration, DjangoOAuth2App
from django.conf import settings
from joserfc.errors import JoseError
from requests import RequestException

from nattillsyn.crypto import decrypt
from sso.models import IdentityProvider

# Everything that can go wrong talking to a provider or reading its answer.
PROVIDER_ERRORS = (AuthlibBaseError, JoseError, RequestException, ValueError, KeyError)

ID_TOKEN_ONLY = ("acr", "amr", "auth_time", "iss", "aud", "nonce")

_clients: dict[str, tuple[str, DjangoOAuth2App]] = {}


class IssuerMismatch(ValueError):
    """The discovery document names another issuer than the one configured."""


def client_for(provider: IdentityProvider) -> DjangoOAuth2App:
    """The provider's client; kept while its configuration is unchanged, so discovery
    and keys are fetched once (keys again when the provider rotates them)."""
    fingerprint = hashlib.sha256(
        "\n".join([provider.issuer, provider.client_id, provider.client_secret_encrypted, provider.scopes]).encode()
    ).hexdigest()
    cached = _clients.get(provider.slug)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    client = DjangoOAuth2App(
        DjangoIntegration(f"sso-{provider.slug}"),
        name=f"sso-{provider.slug}",
        client_id=provider.client_id,
        client_secret=decrypt(provider.client_secret_encrypted),
        server_metadata_url=provider.discovery_url,
        client_kwargs={
            "scope": provider.scopes,
            "code_challenge_method": "S256",
            "default_timeout": settings.SSO_HTTP_TIMEOUT_S,
        },
    )
    _clients[provider.slug] = (fingerprint, client)
    return client


def checked_metadata(client: DjangoOAuth2App, provider: IdentityProvider) -> dict[str, Any]:
    """The provider's discovery document, refused unless it names the configured issuer
    (OpenID Connect Discovery 1.0, section 4.3)."""
    metadata: dict[str, Any] = client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != provider.issuer.rstrip("/"):
        raise IssuerMismatch(f"discovery names issuer {metadata.get('issuer')!r}")
    return metadata


def verified_claims(client: DjangoOAuth2App, provider: IdentityProvider, request: Any) -> tuple[dict[str, Any], str]:
    """Exchange the code in ``request`` and return the user's claims: the ID token's
    (verified), with the userinfo endpoint's added when the provider has one; and the
    ID token itself (for logging out at the provider later). Raises one of
    ``PROVIDER_ERRORS``."""
    checked_metadata(client, provider)
    token = client.authorize_access_token(request)
    id_claims = token.get("userinfo")
    if not id_claims:  # no ID token, or none Authlib could check against our nonce
        raise ValueError("the token response has no verified ID token")
    claims = dict(id_claims)
    if client.load_server_metadata().get("userinfo_endpoint"):
        userinfo = dict(client.userinfo(token=token))
        if userinfo.get("sub") != id_claims.get("sub"):  # OpenID Connect Core 1.0, 5.3.2
            raise ValueError("userinfo is about another subject than the ID token")
        # How the user logged in is believed from the signed ID token only, and its
        # claims (iss, aud, nonce, ...) win over userinfo's.
        for name in ID_TOKEN_ONLY:
            userinfo.pop(name, None)
        claims = {**userinfo, **dict(id_claims)}
    return claims, str(token["id_token"])


def logout_url(provider: IdentityProvider, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser to end the user's session at the provider too
    (OpenID Connect RP-Initiated Logout 1.0), or None if the provider has no such
    endpoint or cannot be reached just now."""
    client = client_for(provider)
    try:
        metadata = checked_metadata(client, provider)
        if not metadata.get("end_session_endpoint"):
            return None
        created = client.create_logout_url(
            post_logout_redirect_uri=post_logout_redirect_uri, id_token_hint=id_token, client_id=provider.client_id
        )
    except PROVIDER_ERRORS:
        return None
    return str(created["url"])
