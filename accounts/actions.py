"""Users and their roles, changed by a municipality's administrator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, SessionRevocation, Tenant
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from nattillsyn.errors import ActionRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def create_user(
    *, actor: User | None, tenant: Tenant, username: str, password: str, roles: list[str]
) -> AbstractBaseUser:
    users = get_user_model().objects
    if users.filter(username__iexact=username).exists():
        raise ActionRefused(_("The user name is taken."))
    user = users.create_user(username=username, password=password)
    set_roles(user, actor=actor, tenant=tenant, roles=roles)
    return user


@transaction.atomic
def set_roles(user: Any, *, actor: User | None, tenant: Tenant, roles: list[str], source: str | None = None) -> None:
    """Replace the user's roles in ``tenant``; roles in other tenants are untouched.
    ``source`` names the identity provider when its claims set the roles."""
    before = sorted(Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True))
    Membership.objects.filter(user=user, tenant=tenant).exclude(role__in=roles).delete()
    for role in roles:
        Membership.objects.get_or_create(user=user, tenant=tenant, role=role)
    record(
        actor=actor,
        action=AuditAction.USER_CHANGED,
        tenant=tenant,
        detail={
            "user": user.get_username(),
            "roles_before": before,
            "roles_after": sorted(roles),
            **({"source": source} if source else {}),
        },
    )


@transaction.atomic
def end_all_sessions(user: Any, *, actor: User | None, tenant: Tenant | None = None, ip: str | None = None) -> None:
    """Log ``user`` out everywhere: each of their sessions ends at its next request
    (``accounts.middleware``). By the user themself, or by an administrator of ``tenant``."""
    SessionRevocation.objects.update_or_create(user=user, defaults={"ended_at": clock.now()})
    record(
        actor=actor,
        action=AuditAction.SESSIONS_ENDED,
        tenant=tenant,
        ip=ip,
        detail={"user": user.get_username(), "by": "self" if actor == user else "administrator"},
    )
