"""A municipality's administrator: its users and their roles."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import actions
from accounts.access import require_role
from accounts.forms import NewUserForm, RolesForm
from accounts.models import Membership, Role, Tenant
from accounts.types import AuthenticatedHttpRequest
from nattillsyn.errors import ActionRefused


def _tenant_for_admin(request: HttpRequest, tenant_id: int) -> Tenant:
    if tenant_id not in require_role(request.user, Role.ADMINISTRATOR):
        raise Http404
    return Tenant.objects.get(id=tenant_id)


@login_required
def tenant_users(request: AuthenticatedHttpRequest, tenant_id: int) -> HttpResponse:
    tenant = _tenant_for_admin(request, tenant_id)
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.create_user(
                actor=request.user,
                tenant=tenant,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                roles=form.cleaned_data["roles"],
            )
        except ActionRefused as refusal:
            form.add_error("username", str(refusal))
        else:
            messages.success(request, _("The user is created."))
            return redirect("accounts:users", tenant_id=tenant.id)
    memberships = Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__username")
    users: dict[str, list[str]] = {}
    user_ids: dict[str, int] = {}
    for membership in memberships:
        users.setdefault(membership.user.get_username(), []).append(membership.get_role_display())
        user_ids[membership.user.get_username()] = membership.user_id
    return render(
        request,
        "accounts/users.html",
        {
            "tenant": tenant,
            "form": form,
            "users": [(name, user_ids[name], roles) for name, roles in users.items()],
        },
    )


@login_required
def user_roles(request: AuthenticatedHttpRequest, tenant_id: int, user_id: int) -> HttpResponse:
    tenant = _tenant_for_admin(request, tenant_id)
    user = get_user_model().objects.filter(id=user_id, memberships__tenant=tenant).distinct().first()
    if user is None:
        raise Http404
    current = list(Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True))
    form = RolesForm(request.POST or None, initial={"roles": current})
    if request.method == "POST" and form.is_valid():
        actions.set_roles(user, actor=request.user, tenant=tenant, roles=form.cleaned_data["roles"])
        messages.success(request, _("The roles are saved."))
        return redirect("accounts:users", tenant_id=tenant.id)
    return render(request, "accounts/user_roles.html", {"tenant": tenant, "managed": user, "form": form})


@login_required
def admin_home(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.ADMINISTRATOR)
    return redirect("accounts:users", tenant_id=min(tenant_ids))
