"""The case officer's tasks after a covered or turned camera (the rule: checks/covered.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.access import require_role
from accounts.models import Role
from accounts.types import AuthenticatedHttpRequest
from checks.access import get_camera_concern_for_user
from checks.covered_actions import resolve_camera_concern
from checks.forms import CameraConcernOutcomeForm
from checks.models import CameraConcern
from people.actions import ActionRefused

# Talking with the person about their consent is the case officer's part (docs/ACCESS_RULES.md).
TASK_ROLES = (Role.CASE_OFFICER,)


@login_required
def camera_concern_list(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, *TASK_ROLES)
    concerns = (
        CameraConcern.objects.filter(tenant_id__in=tenant_ids, resolved_at__isnull=True)
        .select_related("person", "tenant")
        .order_by("found_at")
    )
    return render(request, "checks/camera_concerns.html", {"concerns": concerns})


@login_required
def camera_concern_outcome(request: AuthenticatedHttpRequest, concern_id: int) -> HttpResponse:
    concern = get_camera_concern_for_user(request, concern_id, *TASK_ROLES)
    form = CameraConcernOutcomeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            resolve_camera_concern(
                concern, actor=request.user, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"]
            )
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, _("The talk is recorded."))
        return redirect("people:detail", person_id=concern.person_id)
    return render(request, "checks/camera_concern_outcome.html", {"form": form, "concern": concern})
