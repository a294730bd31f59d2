"""Log out everywhere: a user for themself, or a municipality's administrator for a user."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import actions
from accounts.access import require_role
from accounts.models import Role, Tenant
from accounts.types import AuthenticatedHttpRequest
from nattillsyn.net import client_ip


@require_POST
@login_required
def end_my_sessions(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every session of mine ends, this one too (a phone left at work, a shared computer)."""
    actions.end_all_sessions(request.user, actor=request.user, ip=client_ip(request))
    logout(request)
    return render(request, "accounts/logged_out_everywhere.html")


@require_POST
@login_required
def end_user_sessions(request: AuthenticatedHttpRequest, tenant_id: int, user_id: int) -> HttpResponse:
    if tenant_id not in require_role(request.user, Role.ADMINISTRATOR):
        raise Http404
    tenant = Tenant.objects.get(id=tenant_id)
    user = get_user_model().objects.filter(id=user_id, memberships__tenant=tenant).distinct().first()
    if user is None:
        raise Http404
    actions.end_all_sessions(user, actor=request.user, tenant=tenant, ip=client_ip(request))
    messages.success(request, _("%(user)s is logged out everywhere.") % {"user": user.get_username()})
    return redirect("accounts:user-roles", tenant_id=tenant.id, user_id=user.id)
