"""Signed view grants, shared by the control plane (signs) and the gateway (verifies).

Standard library only: the gateway must not import Django.

A grant is ``v1.<payload>.<signature>`` where payload is base64url(JSON) and the
signature is base64url(HMAC-SHA256(key, "v1." + payload)). The payload is signed,
not encrypted: the browser carries the grant, so it never holds camera credentials
(the gateway gets those from the control plane when it redeems the grant).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from enum import StrEnum

VERSION = "v1"


class Purpose(StrEnum):
    """Why a grant was issued. The one list: the control plane's ``cameras.models.GrantPurpose``
    takes its values from here (with a translated label each), the gateway checks against it."""

    CHECK = "check"
    INSTALL_TEST = "install_test"
    TRAINING = "training"
    PREPARE = "prepare"  # a due check's camera readied; never shown to anyone


PURPOSES = tuple(purpose.value for purpose in Purpose)


class ViewRefusal(StrEnum):
    """Why nobody may see a camera: the one list of reasons the control plane's privacy
    policy (``cameras.policy``) gives, at an open and when the gateway redeems a grant
    (the redeem answer's ``error``, docs/GATEWAY_PROTOCOL.md). Labels: ``nattillsyn.codes``."""

    # The check (``check`` purpose; a retry is a check in ``retry_wait``)
    NOT_A_CAMERA_CHECK = "not_a_camera_check"
    NOT_YET_DUE = "not_yet_due"
    RETRY_NOT_YET_DUE = "retry_not_yet_due"
    CHECK_NOT_OPEN = "check_not_open"
    OUTSIDE_CHECK_WINDOW = "outside_check_window"
    CHECK_CLOSED = "check_closed"  # the grant's attempt has its outcome
    # The person and their home (every purpose that shows a person)
    NO_VALID_CONSENT = "no_valid_consent"
    NO_CO_RESIDENT_CONSENT = "no_co_resident_consent"
    NO_VALID_DECISION = "no_valid_decision"
    NO_CAMERA = "no_camera"
    CAMERA_NOT_TESTED = "camera_not_tested"
    CAMERA_COVERED = "camera_covered"
    # The installation test and training
    NO_PERSON = "no_person"
    NO_INSTALLATION_BOOKING = "no_installation_booking"
    OUTSIDE_INSTALLATION_SLOT = "outside_installation_slot"
    NO_INSTALLATION_CONSENT = "no_installation_consent"
    NOT_A_TRAINING_CAMERA = "not_a_training_camera"
    # Where the viewer is
    NETWORK_NOT_ALLOWED = "network_not_allowed"
    ADDRESS_MISMATCH = "address_mismatch"
    # The grant itself, at the redeem
    UNKNOWN = "unknown"
    ALREADY_USED = "already_used"
    NOT_VIEWABLE = "not_viewable"  # a preparation: never shown to anyone
    REVOKED = "revoked"
    EXPIRED = "expired"


class ViewEnd(StrEnum):
    """Why the gateway ended a view (its ``ended`` event, docs/GATEWAY_PROTOCOL.md)."""

    GRANT_END = "grant_end"  # the view time or the grant's hard end reached
    VIEWER_DELETED = "viewer_deleted"  # the page ended it (WHEP DELETE)
    VIEWER_CLOSED = "viewer_closed"  # the connection closed, or never connected
    REVOKED = "revoked"  # the control plane revoked the grant
    CAMERA_LOST = "camera_lost"
    SHUTDOWN = "shutdown"


class GrantError(Exception):
    """The grant is malformed, forged or outside its validity."""


@dataclass(frozen=True)
class Grant:
    gid: str  # unique id; the control plane's ViewGrant row
    gateway: str  # gateway id that may serve it, or "*" for any
    tenant: int
    operator: int  # user id of the viewer
    person: int
    camera: int
    check: int | None  # None for installation tests and training
    purpose: str  # a Purpose
    issued_at: float  # unix seconds
    start_by: float  # the viewer must connect before this (unix seconds)
    hard_end: float  # the stream is cut at this instant whatever happens
    max_view_s: int  # a view lasts at most this long from its first frame

    def view_end(self, started_at: float) -> float:
        """When a view that started at ``started_at`` must be cut."""
        return min(started_at + self.max_view_s, self.hard_end)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padding = "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(text + padding)
    except (ValueError, TypeError) as exc:
        raise GrantError("malformed grant encoding") from exc


def _signature(key: bytes, signed_part: str) -> str:
    return _b64encode(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def sign_grant(grant: Grant, key: bytes) -> str:
    payload = _b64encode(json.dumps(asdict(grant), separators=(",", ":"), sort_keys=True).encode())
    signed_part = f"{VERSION}.{payload}"
    return f"{signed_part}.{_signature(key, signed_part)}"


def verify_grant(token: str, key: bytes, now: float, gateway_id: str | None = None) -> Grant:
    """Return the grant if the signature holds and ``now`` is inside its validity.

    Checks only what the token itself can prove. Single use and revocation are the
    control plane's to decide when the gateway redeems the grant.
    """
    if not token.isascii():  # what follows encodes it as ASCII
        raise GrantError("malformed grant")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise GrantError("malformed grant")
    signed_part = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(key, signed_part), parts[2]):
        raise GrantError("bad grant signature")
    try:
        grant = Grant(**json.loads(_b64decode(parts[1])))
    except (ValueError, TypeError) as exc:
        raise GrantError("malformed grant payload") from exc
    if grant.purpose not in PURPOSES:
        raise GrantError("unknown grant purpose")
    if now >= grant.hard_end:
        raise GrantError("grant has ended")
    if now >= grant.start_by:
        raise GrantError("grant has expired")
    if now < grant.issued_at - 5:  # small allowance for clock skew between hosts
        raise GrantError("grant is not valid yet")
    if gateway_id is not None and grant.gateway not in ("*", gateway_id):
        raise GrantError("grant is for another gateway")
    return grant
