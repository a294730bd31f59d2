"""gateway/grants.py: the signed grant shared with the control plane."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from gateway.grants import Grant, GrantError, sign_grant, verify_grant

KEY = b"k"
NOW = 1_800_000_000.0
GRANT = Grant("g1", "gw1", 1, 2, 3, 4, 5, "check", NOW - 10, NOW + 60, NOW + 120, 30)


def test_a_signed_grant_verifies_and_round_trips() -> None:
    assert verify_grant(sign_grant(GRANT, KEY), KEY, NOW, "gw1") == GRANT


def test_the_view_is_cut_at_max_view_or_hard_end() -> None:
    assert GRANT.view_end(NOW) == NOW + 30
    assert GRANT.view_end(NOW + 100) == NOW + 120


@pytest.mark.parametrize(
    ("token", "now", "gateway"),
    [
        (sign_grant(GRANT, b"other-key"), NOW, "gw1"),
        (sign_grant(GRANT, KEY).replace("v1.", "v2.", 1), NOW, "gw1"),
        (sign_grant(GRANT, KEY) + "x", NOW, "gw1"),
        ("v1.e30." + sign_grant(GRANT, KEY).split(".")[2], NOW, "gw1"),
        (sign_grant(GRANT, KEY), NOW + 60, "gw1"),  # start_by passed
        (sign_grant(GRANT, KEY), NOW + 120, "gw1"),  # hard end
        (sign_grant(GRANT, KEY), NOW - 20, "gw1"),  # not valid yet
        (sign_grant(GRANT, KEY), NOW, "gw2"),
        (sign_grant(replace(GRANT, purpose="snooping"), KEY), NOW, "gw1"),
    ],
)
def test_bad_grants_are_refused(token: str, now: float, gateway: str) -> None:
    with pytest.raises(GrantError):
        verify_grant(token, KEY, now, gateway)


def test_a_grant_for_any_gateway_is_accepted_everywhere() -> None:
    token = sign_grant(replace(GRANT, gateway="*"), KEY)
    assert verify_grant(token, KEY, NOW, "gw9").gateway == "*"


def test_the_payload_is_readable_but_tamper_proof() -> None:
    prefix, payload, signature = sign_grant(GRANT, KEY).split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(GrantError):
        verify_grant(f"{prefix}.{tampered}.{signature}", KEY, time.time(), None)
