from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.types import AuthenticatedHttpRequest
from checks.actions.agreements import save_agreement
from checks.forms import TIME_ROWS, AgreementForm
from nattillsyn.errors import ActionRefused
from people.access import get_person_for_user


@login_required
def agreement_edit(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, Role.PLANNER)
    agreement = getattr(person, "agreement", None)
    initial: dict[str, object] = {}
    if agreement is not None:
        initial = {"retry_delay_min": agreement.retry_delay_min, "notes": agreement.notes}
        for row, agreed in enumerate(agreement.times.all()[:TIME_ROWS]):
            initial[f"time_{row}"] = agreed.time
            initial[f"form_{row}"] = agreed.form
        for index, step in enumerate(agreement.escalation_steps.all()[:3]):
            initial[f"step_{index + 1}"] = step.kind
    form = AgreementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            save_agreement(
                person,
                actor=request.user,
                retry_delay_min=form.cleaned_data["retry_delay_min"],
                notes=form.cleaned_data["notes"],
                times=form.cleaned_data["times"],
                escalation_steps=form.cleaned_data["escalation_steps"],
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("The agreement is saved."))
            return redirect("people:detail", person_id=person.id)
    return render(request, "checks/agreement_form.html", {"form": form, "person": person})
