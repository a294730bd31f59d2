"""Who may read which report, for which municipality.

Reports only ever aggregate within one tenant the user holds a role in; the tenant
comes from a form whose choices are exactly those tenants, or from here.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from accounts.access import require_role
from accounts.models import Role, Tenant

# Who reads what (issue 6): the night's board and morning report are the shift lead's,
# a person's history the planner's and case officer's, the municipality's figures and
# benefit management's (administrator) and the shift lead's.
TONIGHT_ROLES = (Role.SHIFT_LEAD,)
PERSON_ROLES = (Role.PLANNER, Role.CASE_OFFICER)
MANAGEMENT_ROLES = (Role.ADMINISTRATOR, Role.SHIFT_LEAD)
PARAMETER_EDITORS = (Role.ADMINISTRATOR,)
ANY_REPORT_ROLES = tuple(dict.fromkeys(TONIGHT_ROLES + PERSON_ROLES + MANAGEMENT_ROLES))


def report_tenants(request: HttpRequest, *roles: str) -> QuerySet[Tenant]:
    """The tenants whose reports the user may read in ``roles``; PermissionDenied if none."""
    return Tenant.objects.filter(id__in=require_role(request.user, *roles)).order_by("name")


def get_tenant_for_report(request: HttpRequest, tenant_id: int, *roles: str) -> Tenant:
    tenant = report_tenants(request, *roles).filter(id=tenant_id).first()
    if tenant is None:
        raise Http404
    return tenant
