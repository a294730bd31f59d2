"""The auditor's log review (loggkontroll): one person and period at a time."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.access import require_role
from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from audit.records import record
from nattillsyn import clock
from people.models import Person

PAGE = 500


class LogFilterForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=Person.objects.none(), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.ChoiceField(label=_("Action"), required=False, choices=[("", "—"), *AuditAction.choices])

    def __init__(self, *args: Any, tenant_ids: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        person_field = self.fields["person"]
        assert isinstance(person_field, forms.ModelChoiceField)
        person_field.queryset = Person.objects.filter(tenant_id__in=tenant_ids)
        person_field.error_messages["invalid_choice"] = _("Unknown person: choose one from the list.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The period must end after it starts."))
        return data


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.AUDITOR)
    form = LogFilterForm(request.GET or None, tenant_ids=tenant_ids)
    entries = AuditEntry.objects.none()
    if form.is_valid():
        entries = AuditEntry.objects.filter(tenant_id__in=tenant_ids).select_related("person")
        data = form.cleaned_data
        if data["person"]:
            entries = entries.filter(person=data["person"])
        if data["date_from"]:
            start = datetime.combine(data["date_from"], datetime.min.time()).replace(tzinfo=clock.STOCKHOLM)
            entries = entries.filter(at__gte=start)
        if data["date_to"]:
            end = datetime.combine(data["date_to"] + timedelta(days=1), datetime.min.time()).replace(
                tzinfo=clock.STOCKHOLM
            )
            entries = entries.filter(at__lt=end)
        if data["action"]:
            entries = entries.filter(action=data["action"])
        entries = entries.order_by("-id")[:PAGE]
        # Reading the log is itself logged: who looked at whose history.
        record(
            actor=request.user,
            action=AuditAction.AUDIT_LOG_READ,
            tenant=data["person"].tenant_id if data["person"] else min(tenant_ids),
            person=data["person"],
            detail={"filter": request.GET.urlencode()[:300]},
        )
    return render(request, "audit/log.html", {"form": form, "entries": entries})


VIEW_ACTIONS = (AuditAction.CHECK_OPENED, AuditAction.CAMERA_VIEW, AuditAction.GRANT_REFUSED)


@login_required
def person_extract_csv(request: HttpRequest, person_id: int) -> HttpResponse:
    """Who has looked at this person, and when: what a person or their representative may ask for."""
    from people.access import get_person_for_user

    person = get_person_for_user(request, person_id, Role.AUDITOR)
    entries = AuditEntry.objects.filter(person=person, action__in=VIEW_ACTIONS).select_related("tenant").order_by("at")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="logg-{person.id}.csv"'
    writer = csv.writer(response)
    writer.writerow(["tid (Europe/Stockholm)", "vem", "händelse", "varaktighet (s)", "kommun"])
    for entry in entries:
        writer.writerow(
            [
                entry.at.astimezone(clock.STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor_name or "system",
                entry.get_action_display(),
                "" if entry.duration_s is None else f"{entry.duration_s:.1f}",
                entry.tenant.name if entry.tenant else "",
            ]
        )
    record(
        actor=request.user,
        action=AuditAction.AUDIT_LOG_READ,
        tenant=person.tenant_id,
        person=person,
        detail={"extract": "csv", "rows": len(entries)},
    )
    return response
