"""The case officer's tasks after a covered or turned camera (the rule: checks/covered.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require_role
from accounts.models import Role
from accounts.types import AuthenticatedHttpRequest
from checks.access import get_attempt_for_operator, get_camera_concern_for_user, get_escalation_for_patrol
from checks.covered_actions import open_camera_concern, resolve_camera_concern
from checks.forms import CameraConcernOutcomeForm
from checks.models import CameraConcern, ConcernKind
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


@require_POST
@login_required
def report_camera_covered(request: AuthenticatedHttpRequest, escalation_id: int) -> HttpResponse:
    """The patrol at the home (or the shift lead) found the camera covered, turned or
    taken down: the technical fault was the person's message."""
    escalation = get_escalation_for_patrol(request, escalation_id)
    if open_camera_concern(escalation.person, actor=request.user, kind=ConcernKind.REPORTED) is None:
        messages.info(request, _("The camera is already noted as covered; the case officer has the task."))
    else:
        messages.success(
            request, _("Noted: checks are visits until the case officer has talked with the person about the camera.")
        )
    return redirect(reverse("console:patrol") + f"#escalation-{escalation.id}")


@require_POST
@login_required
def report_camera_covered_in_view(request: AuthenticatedHttpRequest, attempt_id: int) -> HttpResponse:
    """The operator sees a covered lens or a camera turned away: this check and the
    person's next ones become visits with the reason, and the case officer gets the task."""
    attempt = get_attempt_for_operator(request, attempt_id)
    person = attempt.night_check.person
    if open_camera_concern(person, actor=request.user, kind=ConcernKind.REPORTED) is None:
        messages.info(request, _("The camera is already noted as covered; the case officer has the task."))
    else:
        messages.success(request, _("Noted: the night patrol visits instead, and the case officer has the task."))
    return redirect("console:operator")
