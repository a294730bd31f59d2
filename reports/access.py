"""Who may read which report, for which municipality.

Reports only ever aggregate within one tenant the user holds a role in; the tenant
comes from a form whose choices are exactly those tenants, or from here.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.access import not_found, require_role
from accounts.models import Role, Tenant

# Who reads what (issue 6): the night's board and morning report are the shift lead's,
# a person's history the planner's and case officer's, the municipality's figures and
# benefit management's (administrator) and the shift lead's.
TONIGHT_ROLES = (Role.SHIFT_LEAD,)
PERSON_ROLES = (Role.PLANNER, Role.CASE_OFFICER)
MANAGEMENT_ROLES = (Role.ADMINISTRATOR, Role.SHIFT_LEAD)
PARAMETER_EDITORS = (Role.ADMINISTRATOR,)
ANY_REPORT_ROLES = tuple(dict.fromkeys(TONIGHT_ROLES + PERSON_ROLES + MANAGEMENT_ROLES))


def report_tenants(request: HttpRequest, *roles: str, tenant_id: int | None = None) -> QuerySet[Tenant]:
    """The tenants whose reports the user may read in ``roles``; PermissionDenied if none."""
    tenant_ids = require_role(request.user, *roles, kind="Report" if tenant_id is not None else "", object_id=tenant_id)
    return Tenant.objects.filter(id__in=tenant_ids).order_by("name")


def get_tenant_for_report(request: HttpRequest, tenant_id: int, *roles: str) -> Tenant:
    tenant = report_tenants(request, *roles, tenant_id=tenant_id).filter(id=tenant_id).first()
    if tenant is None:
        # The object asked for is a municipality's report, named by its tenant id.
        raise not_found("Report", tenant_id, Tenant.objects.filter(id=tenant_id))
    return tenant
