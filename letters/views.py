"""Letters "who looked at me" (one on request, a month's in a batch) and the information sheet."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require_role, require_role_in_tenant, tenants_for
from accounts.models import Role
from letters import actions
from letters.access import get_batch_for_user
from letters.models import LetterBatch
from people.access import get_person_for_user
from people.forms import LetterMonthForm

LETTER_ROLES = (Role.CASE_OFFICER,)
BATCH_ROLES = (Role.CASE_OFFICER, Role.ADMINISTRATOR)
SHEET_ROLES = (Role.PLANNER, Role.CASE_OFFICER)


def _pdf(content: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


@login_required
def person_letter(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, *LETTER_ROLES)
    form = LetterMonthForm(request.GET)
    if not form.is_valid():
        for error in form.errors.get("month", []):
            messages.error(request, str(error))
        return redirect("people:detail", person_id=person.id)
    month = form.cleaned_data["month"]
    letter = actions.produce_letter(person, actor=request.user, month=month)
    return _pdf(letter, f"vem-tittade-{person.id}-{month:%Y-%m}.pdf")


@login_required
def information_sheet(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, *SHEET_ROLES)
    return _pdf(actions.produce_information_sheet(person, actor=request.user), f"information-{person.id}.pdf")


@login_required
def batches(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, *BATCH_ROLES)
    tenants = tenants_for(request.user, *BATCH_ROLES)
    form = LetterMonthForm(request.POST or None)
    if request.method == "POST":
        tenant = tenants.filter(id=request.POST.get("tenant") or min(tenant_ids)).first()
        if tenant is None:
            require_role_in_tenant(request.user, int(request.POST.get("tenant") or 0), *BATCH_ROLES)
        elif form.is_valid():
            batch = actions.request_batch(tenant, actor=request.user, month=form.cleaned_data["month"])
            messages.success(request, _("The letters are being produced. This page shows how far it has come."))
            return redirect("letters:batch", batch_id=batch.id)
    return render(
        request,
        "letters/batches.html",
        {
            "form": form,
            "tenants": tenants,
            "batches": LetterBatch.objects.filter(tenant_id__in=tenant_ids).select_related("tenant")[:24],
        },
    )


@login_required
def batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    found = get_batch_for_user(request, batch_id, *BATCH_ROLES)
    template = "letters/_progress.html" if request.headers.get("HX-Request") else "letters/batch.html"
    return render(request, template, {"batch": found})


@login_required
@require_POST
def batch_download(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    found = get_batch_for_user(request, batch_id, *BATCH_ROLES)
    path = settings.LETTERS_DIR / found.file_name if found.file_name else None
    if path is None or not path.is_file():
        messages.error(request, _("The letters are not ready yet."))
        return redirect("letters:batch", batch_id=found.id)
    actions.record_batch_download(found, actor=request.user)
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/pdf")
