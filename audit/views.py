"""The auditor's log review (loggkontroll): one person and period at a time."""

from __future__ import annotations

import csv
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.access import require_role
from accounts.models import Role
from accounts.types import AuthenticatedHttpRequest
from audit.actions import review_access
from audit.models import AccessReview, AuditAction, AuditEntry, ReviewVerdict
from audit.records import record
from audit.review import Flag, sample_accesses, unusual_accesses
from nattillsyn import clock
from nattillsyn.errors import ActionRefused
from people.access import get_person_for_user
from people.models import Person

PAGE = 500


class LogFilterForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=Person.objects.none(), required=False)
    user = forms.ModelChoiceField(label=_("User"), queryset=get_user_model().objects.none(), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.ChoiceField(label=_("Action"), required=False, choices=[("", "—"), *AuditAction.choices])

    def __init__(self, *args: Any, tenant_ids: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        person_field = self.fields["person"]
        assert isinstance(person_field, forms.ModelChoiceField)
        person_field.queryset = Person.objects.filter(tenant_id__in=tenant_ids)
        person_field.error_messages["invalid_choice"] = _("Unknown person: choose one from the list.")
        user_field = self.fields["user"]
        assert isinstance(user_field, forms.ModelChoiceField)
        user_field.queryset = (
            get_user_model().objects.filter(memberships__tenant_id__in=tenant_ids).distinct().order_by("username")
        )
        user_field.error_messages["invalid_choice"] = _("Unknown user: choose one from the list.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The period must end after it starts."))
        return data


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.AUDITOR)
    # Bound even without a filter: the page opens on the newest entries.
    form = LogFilterForm(request.GET, tenant_ids=tenant_ids)
    entries = AuditEntry.objects.none()
    if form.is_valid():
        entries = AuditEntry.objects.filter(tenant_id__in=tenant_ids).select_related("person")
        data = form.cleaned_data
        if data["person"]:
            entries = entries.filter(person=data["person"])
        if data["user"]:
            entries = entries.filter(actor=data["user"])
        if data["date_from"]:
            start = clock.day_starts(data["date_from"])
            entries = entries.filter(at__gte=start)
        if data["date_to"]:
            end = clock.day_starts(data["date_to"] + timedelta(days=1))
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


EXTRACT_COLUMNS = [
    _("Time (Swedish time)"),
    _("Who"),
    _("What"),
    _("Duration (s)"),
    _("Outcome or reason"),
    _("Municipality"),
]


def extract_rows(person: Person) -> list[list[str]]:
    """Who has looked at this person and when: every camera view, grant and refusal."""
    entries = AuditEntry.objects.filter(person=person, action__in=VIEW_ACTIONS).select_related("tenant").order_by("at")
    return [
        [
            entry.at.astimezone(clock.STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor_name or str(_("system")),
            str(entry.get_action_display()),
            "" if entry.duration_s is None else f"{entry.duration_s:.1f}",
            str(entry.detail.get("end_reason") or entry.detail.get("reason") or entry.detail.get("purpose") or ""),
            entry.tenant.name if entry.tenant else "",
        ]
        for entry in entries
    ]


def _extract_read(request: HttpRequest, person: Person, kind: str, rows: int) -> None:
    record(
        actor=request.user,
        action=AuditAction.AUDIT_LOG_READ,
        tenant=person.tenant_id,
        person=person,
        detail={"extract": kind, "rows": rows},
    )


@login_required
def person_extract_csv(request: HttpRequest, person_id: int) -> HttpResponse:
    """Who has looked at this person, and when: what a person or their representative may ask for."""
    person = get_person_for_user(request, person_id, Role.AUDITOR)
    rows = extract_rows(person)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="logg-{person.id}.csv"'
    writer = csv.writer(response)
    writer.writerow([str(column) for column in EXTRACT_COLUMNS])
    writer.writerows(rows)
    _extract_read(request, person, "csv", len(rows))
    return response


@login_required
def person_extract_pdf(request: HttpRequest, person_id: int) -> HttpResponse:
    """The same extract as a readable document, to hand to the person or their representative."""
    # Loaded at the first PDF, not at every start of the web process: fpdf and the reports' charts are large.
    from fpdf.enums import XPos, YPos

    from reports.pdf import ReportPDF, text
    from reports.tables import Table

    person = get_person_for_user(request, person_id, Role.AUDITOR)
    rows = extract_rows(person)
    created = clock.now().astimezone(clock.STOCKHOLM).strftime("%Y-%m-%d %H:%M")
    pdf = ReportPDF(f"{person.tenant.name} - {_('Extract from the camera supervision log')}")
    pdf.set_title(text(f"{_('Extract from the camera supervision log')}: {person.name}"))
    pdf.set_creator("Nattillsyn")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, text(f"{_('Who has looked at')} {person.name}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    for line in (
        _("Every time the night camera was opened for this person, by whom and for how long."),
        _("Nothing is recorded: no pictures are kept, only these entries of the audit log."),
        f"{person.tenant.name} · {_('Created')} {created} · {_('by')} {request.user.get_username()}",
    ):
        pdf.cell(0, 5.5, text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.table_of(
        Table(slug="views", title=str(_("Camera views")), columns=[str(c) for c in EXTRACT_COLUMNS], rows=rows),  # type: ignore[arg-type]
        widths=(40, 40, 70, 25, 50, 48),
    )
    response = HttpResponse(bytes(pdf.output()), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="logg-{person.id}.pdf"'
    _extract_read(request, person, "pdf", len(rows))
    return response


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The period must end after it starts."))
        return data

    def bounds(self) -> tuple[datetime, datetime]:
        return clock.day_starts(self.cleaned_data["date_from"]), clock.day_starts(
            self.cleaned_data["date_to"] + timedelta(days=1)
        )


class SampleForm(PeriodForm):
    count = forms.IntegerField(label=_("How many"), min_value=1, max_value=100, initial=10)
    seed = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReviewForm(forms.Form):
    verdict = forms.ChoiceField(label=_("Verdict"), choices=ReviewVerdict.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


def _last_week() -> dict[str, str]:
    today = clock.today()
    return {"date_from": str(today - timedelta(days=7)), "date_to": str(today)}


@login_required
def access_sample(request: HttpRequest) -> HttpResponse:
    """A random sample of camera views of a period to review, reproducible from its URL."""
    tenant_ids = require_role(request.user, Role.AUDITOR)
    query = request.GET.copy() if request.GET else _last_week()
    if not query.get("seed"):
        query["seed"] = str(secrets.randbelow(1_000_000))
        if "count" not in query:
            query["count"] = "10"
        return redirect(f"{request.path}?{urlencode(query)}")
    form = SampleForm(query)
    entries: list[AuditEntry] = []
    if form.is_valid():
        start, end = form.bounds()
        entries = sample_accesses(tenant_ids, start, end, form.cleaned_data["count"], form.cleaned_data["seed"] or 0)
        record(
            actor=request.user,
            action=AuditAction.AUDIT_LOG_READ,
            tenant=min(tenant_ids),
            detail={"sample": request.GET.urlencode()[:300], "entries": len(entries)},
        )
    reviews = {review.entry_id: review for review in AccessReview.objects.filter(entry__in=entries)}
    rows = [(entry, reviews.get(entry.id)) for entry in entries]
    return render(
        request,
        "audit/sample.html",
        {"form": form, "rows": rows, "review_form": ReviewForm(), "back": request.get_full_path()},
    )


@login_required
@require_POST
def review_entry(request: AuthenticatedHttpRequest, entry_id: int) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.AUDITOR)
    entry = AuditEntry.objects.filter(id=entry_id, tenant_id__in=tenant_ids).first()
    if entry is None:
        raise Http404
    form = ReviewForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or not back.startswith("/audit/"):
        back = "/audit/review/"
    if not form.is_valid():
        messages.error(request, _("Choose a verdict for the access."))
        return redirect(back)
    try:
        review_access(entry, actor=request.user, verdict=form.cleaned_data["verdict"], note=form.cleaned_data["note"])
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The review is recorded."))
    return redirect(back)


@login_required
def access_flags(request: HttpRequest) -> HttpResponse:
    """Accesses that look unusual in a period: long views, many persons at once, attempts outside the rules."""
    tenant_ids = require_role(request.user, Role.AUDITOR)
    form = PeriodForm(request.GET or _last_week())
    flags: list[Flag] = []
    if form.is_valid():
        start, end = form.bounds()
        flags = unusual_accesses(tenant_ids, start, end)
        record(
            actor=request.user,
            action=AuditAction.AUDIT_LOG_READ,
            tenant=min(tenant_ids),
            detail={"flags": request.GET.urlencode()[:300], "found": len(flags)},
        )
    return render(request, "audit/flags.html", {"form": form, "flags": flags})
