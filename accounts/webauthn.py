"""Security keys and passkeys (WebAuthn): a second kind of second factor.

The relying party is this site: its id is the host name the user reached (validated
by ALLOWED_HOSTS) unless WEBAUTHN_RP_ID says otherwise, and the origin must be the one
the request came to. Challenges live in the session, are used once and expire after
WEBAUTHN_CHALLENGE_S. A key whose signature counter goes backwards (a cloned key) is
refused.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.models import WebAuthnCredential
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from nattillsyn.errors import ActionRefused
from nattillsyn.net import client_ip

REGISTRATION = "webauthn_registration"
AUTHENTICATION = "webauthn_authentication"


def keys_owner_id(user: Any) -> int:
    return int(user.pk)


def keys_of(user: Any) -> QuerySet[WebAuthnCredential]:
    """The user's own security keys: the only ones they can use, see or remove."""
    return WebAuthnCredential.objects.filter(user_id=keys_owner_id(user))


def relying_party(request: HttpRequest) -> tuple[str, str]:
    """(rp id, expected origin) for this request."""
    host = request.get_host().rsplit(":", 1)[0] if not request.get_host().startswith("[") else request.get_host()
    rp_id = settings.WEBAUTHN_RP_ID or host
    return rp_id, f"{request.scheme}://{request.get_host()}"


def _remember_challenge(request: HttpRequest, purpose: str, challenge: bytes) -> None:
    request.session[purpose] = {"challenge": bytes_to_base64url(challenge), "at": clock.now().timestamp()}


def _take_challenge(request: HttpRequest, purpose: str) -> bytes:
    """The challenge issued for ``purpose``, removed so it cannot be answered twice."""
    from webauthn.helpers import base64url_to_bytes

    stored = request.session.pop(purpose, None)
    if not stored or clock.now().timestamp() - stored["at"] > settings.WEBAUTHN_CHALLENGE_S:
        raise ActionRefused(_("The request for the security key has expired. Try again."))
    return base64url_to_bytes(stored["challenge"])


def registration_options(request: HttpRequest) -> str:
    user = request.user
    rp_id, _origin = relying_party(request)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name="Nattillsyn",
        user_id=str(user.pk).encode(),
        user_name=user.get_username(),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=_b64(c.credential_id)) for c in keys_of(user)],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
    )
    _remember_challenge(request, REGISTRATION, options.challenge)
    return options_to_json(options)


def _b64(text: str) -> bytes:
    from webauthn.helpers import base64url_to_bytes

    return base64url_to_bytes(text)


def register_key(request: HttpRequest, credential: dict[str, Any], name: str) -> WebAuthnCredential:
    rp_id, origin = relying_party(request)
    challenge = _take_challenge(request, REGISTRATION)
    try:
        verified = verify_registration_response(
            credential=json.dumps(credential),
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        record(actor=request.user, action=AuditAction.SECOND_FACTOR_FAILED, detail={"kind": "webauthn_register"})
        raise ActionRefused(_("The security key could not be registered.")) from exc
    with transaction.atomic():
        return _store_key(request, verified, credential, name)


def _store_key(request: HttpRequest, verified: Any, credential: dict[str, Any], name: str) -> WebAuthnCredential:
    key = WebAuthnCredential.objects.create(
        user_id=keys_owner_id(request.user),
        name=(name.strip() or _("Security key"))[:100],
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t) for t in credential.get("response", {}).get("transports", []) or []][:10],
        created_at=clock.now(),
    )
    record(
        actor=request.user,
        action=AuditAction.SECOND_FACTOR_ENROLLED,
        obj=key,
        ip=client_ip(request),
        detail={"kind": "webauthn", "name": key.name},
    )
    return key


def authentication_options(request: HttpRequest) -> str:
    rp_id, _origin = relying_party(request)
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=_b64(c.credential_id)) for c in keys_of(request.user).all()
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _remember_challenge(request, AUTHENTICATION, options.challenge)
    return options_to_json(options)


@transaction.atomic
def verify_key(request: HttpRequest, credential: dict[str, Any]) -> bool:
    """Check an assertion from one of the user's own keys; audited either way."""
    rp_id, origin = relying_party(request)
    ip = client_ip(request)

    def refused(problem: str) -> bool:
        record(
            actor=request.user,
            action=AuditAction.SECOND_FACTOR_FAILED,
            ip=ip,
            detail={"kind": "webauthn", "problem": problem},
        )
        return False

    try:
        challenge = _take_challenge(request, AUTHENTICATION)
    except ActionRefused:
        return refused("no_challenge")
    key = (
        WebAuthnCredential.objects.select_for_update()
        .filter(user_id=keys_owner_id(request.user), credential_id=str(credential.get("id", "")))
        .first()
    )
    if key is None:
        return refused("not_the_users_key")
    try:
        verified = verify_authentication_response(
            credential=json.dumps(credential),
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=bytes(key.public_key),
            credential_current_sign_count=key.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        return refused(f"{type(exc).__name__}: {exc}"[:200])
    key.sign_count = verified.new_sign_count
    key.last_used_at = clock.now()
    key.save(update_fields=["sign_count", "last_used_at"])
    record(
        actor=request.user,
        action=AuditAction.SECOND_FACTOR_VERIFIED,
        obj=key,
        ip=ip,
        detail={"kind": "webauthn", "name": key.name},
    )
    return True


@transaction.atomic
def remove_key(request: HttpRequest, key: WebAuthnCredential) -> None:
    if key.user_id != request.user.pk:
        raise ActionRefused(_("This security key is not registered to you."))
    record(
        actor=request.user,
        action=AuditAction.SECOND_FACTOR_REMOVED,
        obj=key,
        ip=client_ip(request),
        detail={"kind": "webauthn", "name": key.name},
    )
    key.delete()
