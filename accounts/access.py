"""Who may do what, for which tenant.

Every view asks here; nothing fetches care data by id on its own. A user sees only
the tenants where they hold a membership, and only acts in roles they hold there.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Membership, Role, Tenant

AnyUser = AbstractBaseUser | AnonymousUser
Refused = TypeVar("Refused", PermissionDenied, Http404)

# The attribute of a refusal's exception that says what was asked for; the audit
# middleware (``audit.refusals``) reads it and writes the entry (ASVS 16.3).
REFUSAL_ATTR = "nattillsyn_refusal"


class RefusalReason(StrEnum):
    ROLE_MISSING = "role_missing"  # the user holds none of the roles the page needs
    OUTSIDE_TENANT = "outside_tenant"  # it exists, outside the municipalities where the user holds the role
    NOT_FOUND = "not_found"  # no such object anywhere: probing ids
    NOT_OWN = "not_own"  # a colleague's attempt, in the operator's own municipality
    LOCKED_OUT = "locked_out"  # a login for a name locked after failed attempts


class Refusal(NamedTuple):
    kind: str  # the class of what was asked for ("Person", "Check", …); "" for a page
    object_id: str
    reason: str


def refused(exc_class: type[Refused], reason: str, kind: str = "", object_id: Any = None) -> Refused:
    """The exception to raise, carrying what was asked for and why it is refused."""
    exc = exc_class()
    setattr(exc, REFUSAL_ATTR, Refusal(kind, "" if object_id is None else str(object_id)[:64], reason))
    return exc


def not_found(kind: str, object_id: Any, anywhere: QuerySet[Any]) -> Http404:
    """Http404 for an object the user may not have. ``anywhere`` finds it unfiltered, so
    the audit log tells another municipality's object (``outside_tenant``) from an id
    that exists nowhere (``not_found``); the answer to the user is the same 404."""
    reason = RefusalReason.OUTSIDE_TENANT if anywhere.exists() else RefusalReason.NOT_FOUND
    return refused(Http404, reason, kind, object_id)


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


def require_role(user: AnyUser, *roles: str, kind: str = "", object_id: Any = None) -> set[int]:
    """The user's tenant ids for ``roles``, or PermissionDenied if they hold none of them
    (``kind`` and ``object_id``: what was asked for, for the audit log)."""
    tenant_ids = tenant_ids_for(user, *roles)
    if not tenant_ids:
        raise refused(PermissionDenied, RefusalReason.ROLE_MISSING, kind, object_id)
    return tenant_ids


def require_role_in_tenant(user: AnyUser, tenant_id: int, *roles: str) -> None:
    if tenant_id not in tenant_ids_for(user, *roles):
        raise refused(PermissionDenied, RefusalReason.OUTSIDE_TENANT, "Tenant", tenant_id)


def tenants_for(user: AnyUser, *roles: str):  # -> QuerySet[Tenant]
    return Tenant.objects.filter(id__in=tenant_ids_for(user, *roles))


CARE_STAFF = (Role.CASE_OFFICER, Role.PLANNER, Role.INSTALLER, Role.SHIFT_LEAD, Role.ADMINISTRATOR)
