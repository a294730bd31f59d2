"""What an identity provider's claims mean here: roles in tenants, and a second factor or not."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sso.models import ClaimMapping, IdentityProvider


def claim_values(claims: Mapping[str, Any], name: str) -> set[str]:
    """A claim as a set of strings: providers send a group claim as one string or a list."""
    value = claims.get(name) if name else None
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {str(item) for item in value if isinstance(item, str | int) and not isinstance(item, bool)}
    return set()


def memberships_from_claims(
    provider: IdentityProvider, claims: Mapping[str, Any], mappings: Iterable[ClaimMapping]
) -> set[tuple[int, str]]:
    """The (tenant id, role) pairs the claims give, by the provider's mappings only."""
    groups = claim_values(claims, provider.roles_claim)
    municipalities = claim_values(claims, provider.tenant_claim)
    return {
        (mapping.tenant_id, mapping.role)
        for mapping in mappings
        if mapping.group in groups and (not mapping.tenant_claim_value or mapping.tenant_claim_value in municipalities)
    }


def second_factor_proven(provider: IdentityProvider, claims: Mapping[str, Any]) -> bool:
    """Did the provider say the login used more than one factor? Its ``acr`` (a level of
    assurance configured as multi-factor) or its ``amr`` containing "mfa" (RFC 8176)."""
    acr = claims.get("acr")
    return (isinstance(acr, str) and acr in provider.accepted_acr_values()) or "mfa" in claim_values(claims, "amr")
