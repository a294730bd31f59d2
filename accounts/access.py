"""Who may do what, for which tenant.

Every view asks here; nothing fetches care data by id on its own. A user sees only
the tenants where they hold a membership, and only acts in roles they hold there.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts.models import Membership, Role, Tenant

AnyUser = AbstractBaseUser | AnonymousUser


def tenant_ids_for(user: AnyUser, *roles: str) -> set[int]:
    """Ids of the tenants where the user holds any of ``roles`` (any role if none given)."""
    if not user.is_authenticated:
        return set()
    cache_attr = "_nattillsyn_memberships"
    memberships = getattr(user, cache_attr, None)
    if memberships is None:
        memberships = list(Membership.objects.filter(user_id=user.pk).values_list("tenant_id", "role"))
        setattr(user, cache_attr, memberships)
    return {tenant_id for tenant_id, role in memberships if not roles or role in roles}


def roles_for(user: AnyUser) -> set[str]:
    tenant_ids_for(user)
    return {role for _tenant, role in getattr(user, "_nattillsyn_memberships", [])}


def require_role(user: AnyUser, *roles: str) -> set[int]:
    """The user's tenant ids for ``roles``, or PermissionDenied if they hold none of them."""
    tenant_ids = tenant_ids_for(user, *roles)
    if not tenant_ids:
        raise PermissionDenied
    return tenant_ids


def require_role_in_tenant(user: AnyUser, tenant_id: int, *roles: str) -> None:
    if tenant_id not in tenant_ids_for(user, *roles):
        raise PermissionDenied


def tenants_for(user: AnyUser, *roles: str):  # -> QuerySet[Tenant]
    return Tenant.objects.filter(id__in=tenant_ids_for(user, *roles))


CARE_STAFF = (Role.CASE_OFFICER, Role.PLANNER, Role.INSTALLER, Role.SHIFT_LEAD, Role.ADMINISTRATOR)
