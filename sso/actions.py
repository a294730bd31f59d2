"""Logging in through an identity provider, and changing the providers. Each change audited."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.actions import set_roles
from accounts.models import Membership, Tenant
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from nattillsyn.crypto import encrypt
from sso.mapping import memberships_from_claims, second_factor_proven
from sso.models import ExternalIdentity, IdentityProvider

if TYPE_CHECKING:
    from django.contrib.auth.models import User

USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")
REFUSALS = {
    "no_subject": _("The identity provider did not say who you are. Try again, or ask your administrator."),
    "no_role": _(
        "You are logged in at your identity provider, but it gives you no role in Nattillsyn. "
        "Ask your administrator to add you to the right group."
    ),
    "no_second_factor": _(
        "Your login at the identity provider did not use a second factor (for example a SITHS card). "
        "Log in again with one."
    ),
    "inactive": _("This account is switched off. Ask your administrator."),
    "stale_login": _("The identity provider did not ask you to log in again. Log in again from the login page."),
}
# How much older than our request the provider's login may be (clocks differ a little).
AUTH_TIME_LEEWAY_S = 60


@dataclass(frozen=True)
class SignIn:
    """What a login through ``provider`` comes to: a user, or the reason for refusing."""

    user: Any = None
    refusal: str | None = None
    second_factor_proven: bool = False

    @property
    def message(self) -> str:
        return str(REFUSALS[self.refusal]) if self.refusal else ""


@transaction.atomic
def sign_in(
    provider: IdentityProvider, claims: Mapping[str, Any], *, ip: str | None, requested_at: float | None = None
) -> SignIn:
    """Find or create the user the provider vouches for, and give them exactly the roles
    its claims map to in the tenants it governs. Committed even when refused: a user
    whose groups were taken away loses those roles here at their next attempt.
    ``requested_at`` (epoch seconds) is when we sent the browser to the provider: with
    ``reauthenticate`` the provider's ``auth_time`` must not be older."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        return refuse_login(provider, "no_subject", None, ip)
    if provider.reauthenticate and not _fresh(claims.get("auth_time"), requested_at):
        return refuse_login(provider, "stale_login", None, ip, subject=subject, auth_time=claims.get("auth_time"))
    wanted = memberships_from_claims(provider, claims, provider.mappings.all())
    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, subject=subject)
        .first()
    )
    user = identity.user if identity is not None else None
    if user is not None:
        _sync_roles(user, provider, wanted)
    if not wanted:
        return refuse_login(provider, "no_role", user, ip, subject=subject)
    proven = second_factor_proven(provider, claims)
    if not proven and not provider.ask_own_second_factor:
        return refuse_login(provider, "no_second_factor", user, ip, subject=subject, acr=claims.get("acr"))
    now = clock.now()
    if identity is None:
        user = _new_user(provider, claims, subject)
        identity = ExternalIdentity.objects.create(
            provider=provider, subject=subject, user=user, created_at=now, last_login_at=now
        )
        _sync_roles(user, provider, wanted)
    elif not identity.user.is_active:
        return refuse_login(provider, "inactive", identity.user, ip, subject=subject)
    else:
        identity.last_login_at = now
        identity.save(update_fields=["last_login_at"])
    return SignIn(user=identity.user, second_factor_proven=proven)


def _fresh(auth_time: Any, requested_at: float | None) -> bool:
    if requested_at is None or isinstance(auth_time, bool) or not isinstance(auth_time, int | float):
        return False
    return auth_time >= requested_at - AUTH_TIME_LEEWAY_S


def refuse_login(provider: IdentityProvider, reason: str, user: Any, ip: str | None, **detail: Any) -> SignIn:
    """A login through ``provider`` refused: audited with the reason (and ``detail``)."""
    record(
        actor=user,
        action=AuditAction.LOGIN_FAILED,
        ip=ip,
        detail={"provider": provider.slug, "reason": reason, **{k: str(v)[:255] for k, v in detail.items() if v}},
    )
    return SignIn(refusal=reason)


def _sync_roles(user: Any, provider: IdentityProvider, wanted: set[tuple[int, str]]) -> None:
    """A user who came through a provider has exactly the roles its claims map to, in
    every tenant: a group taken away there, or a mapping removed here, takes the role
    away at the next login (and sessions end within the idle timeout)."""
    current_tenants = set(Membership.objects.filter(user=user).values_list("tenant_id", flat=True))
    for tenant_id in sorted(current_tenants | {tenant for tenant, _role in wanted}):
        roles = sorted(role for wanted_tenant, role in wanted if wanted_tenant == tenant_id)
        current = sorted(Membership.objects.filter(user=user, tenant_id=tenant_id).values_list("role", flat=True))
        if roles != current:
            set_roles(user, actor=None, tenant=Tenant.objects.get(id=tenant_id), roles=roles, source=provider.slug)


def _new_user(provider: IdentityProvider, claims: Mapping[str, Any], subject: str) -> Any:
    """A user with no password: they log in through the provider only. The user name
    says where they come from and is never used to link accounts."""
    users = get_user_model().objects
    wanted_name = claims.get("preferred_username") or claims.get("email") or subject
    cleaned = USERNAME_UNSAFE.sub("", str(wanted_name))
    base = f"{provider.slug}.{cleaned}"[:140]
    username, number = base, 1
    while users.filter(username__iexact=username).exists():
        number += 1
        username = f"{base}-{number}"
    user = users.create_user(
        username=username,
        password=None,  # unusable: no path in with a password
        first_name=str(claims.get("given_name") or claims.get("name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
    )
    return user


@transaction.atomic
def save_provider(
    provider: IdentityProvider, *, actor: User | None, client_secret: str | None = None
) -> IdentityProvider:
    """Create or change an identity provider; a new client secret is stored encrypted."""
    if client_secret:
        provider.client_secret_encrypted = encrypt(client_secret)
    created = provider.pk is None
    provider.save()
    _record_change(
        provider,
        actor,
        created=created,
        issuer=provider.issuer,
        enabled=provider.enabled,
        secret_changed=bool(client_secret),
    )
    return provider


@transaction.atomic
def record_mapping_change(provider: IdentityProvider, *, actor: User | None) -> None:
    """The mappings decide who gets which role: every change of them is audited with
    the whole list as it is now."""
    mappings = sorted(f"{m.group}|{m.tenant_claim_value}|{m.tenant_id}|{m.role}" for m in provider.mappings.all())
    _record_change(provider, actor, mappings=mappings)


def _record_change(provider: IdentityProvider, actor: User | None, **detail: Any) -> None:
    record(
        actor=actor,
        action=AuditAction.IDENTITY_PROVIDER_CHANGED,
        obj=provider,
        detail={"provider": provider.slug, **detail},
    )
