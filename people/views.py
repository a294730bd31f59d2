"""Case officer and planner pages: persons, decisions, consents, absences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require_role, tenants_for
from accounts.models import Role
from accounts.types import AuthenticatedHttpRequest
from checks.nights import NIGHT_STARTS, night_of
from nattillsyn import clock
from people import actions
from people.access import (
    get_co_resident_consent_for_user,
    get_co_resident_for_user,
    get_consent_for_user,
    get_person_for_user,
)
from people.forms import (
    AbsenceForm,
    ConsentForm,
    CoResidentConsentForm,
    CoResidentForm,
    DecisionForm,
    LetterMonthForm,
    PersonForm,
    WithdrawConsentForm,
)
from people.models import AbsenceKind, CoResident, Person
from people.rules import household_consent_refusal

READERS = (Role.CASE_OFFICER, Role.PLANNER, Role.INSTALLER, Role.SHIFT_LEAD, Role.ADMINISTRATOR)
EDITORS = (Role.CASE_OFFICER, Role.PLANNER)


@login_required
def person_list(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, *READERS)
    persons = (
        Person.objects.filter(tenant_id__in=tenant_ids).select_related("tenant", "camera", "agreement").order_by("name")
    )
    return render(
        request,
        "people/list.html",
        {
            "persons": persons,
            "can_edit": bool(tenants_for(request.user, *EDITORS)),
        },
    )


@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, *READERS)
    now = clock.now()
    return render(
        request,
        "people/detail.html",
        {
            "person": person,
            "decisions": person.decisions.all(),
            "consents": person.consents.all(),
            "absences": person.absences.all()[:20],
            "agreement": getattr(person, "agreement", None),
            "camera": getattr(person, "camera", None),
            "recent_checks": person.checks.order_by("-scheduled_at")[:15],
            "consent_valid_now": any(consent.is_valid_at(now) for consent in person.consents.all()),
            "household_refusal": household_consent_refusal(person, now),
            "co_residents": CoResident.objects.filter(person=person).prefetch_related("consents"),
            "letter_form": LetterMonthForm(initial={"month": _last_month(now)}),
            "can_edit": person.tenant_id in require_role(request.user, *READERS)
            and bool(tenants_for(request.user, *EDITORS).filter(id=person.tenant_id)),
        },
    )


def _last_month(now: datetime) -> str:
    first = now.astimezone(clock.STOCKHOLM).date().replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


@login_required
def person_edit(request: AuthenticatedHttpRequest, person_id: int | None = None) -> HttpResponse:
    tenant_ids = require_role(request.user, *EDITORS)
    person = get_person_for_user(request, person_id, *EDITORS) if person_id else None
    tenants = tenants_for(request.user, *EDITORS)
    tenant = person.tenant if person else tenants.filter(id=request.POST.get("tenant") or min(tenant_ids)).first()
    if tenant is None:
        tenant = tenants.first()
    form = PersonForm(request.POST or None, instance=person, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        saved = actions.save_person(
            person, actor=request.user, tenant=tenant, **{name: form.cleaned_data[name] for name in form.Meta.fields}
        )
        messages.success(request, _("Saved."))
        return redirect("people:detail", person_id=saved.id)
    return render(
        request, "people/person_form.html", {"form": form, "person": person, "tenants": tenants, "tenant": tenant}
    )


@login_required
def decision_create(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, Role.CASE_OFFICER)
    return _person_form_page(
        request,
        DecisionForm(request.POST or None),
        person=person,
        title=_("Register decision"),
        save=lambda data: actions.register_decision(person, actor=request.user, **data),
        saved=_("The decision is registered."),
    )


@login_required
def consent_create(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, *EDITORS)
    return _person_form_page(
        request,
        ConsentForm(request.POST or None, initial=_given_now()),
        person=person,
        title=_("Register consent to camera supervision"),
        save=lambda data: actions.register_consent(person, actor=request.user, **data),
        saved=_("The consent is registered."),
    )


@login_required
def consent_withdraw(request: AuthenticatedHttpRequest, consent_id: int) -> HttpResponse:
    consent = get_consent_for_user(request, consent_id, *EDITORS)
    return _withdraw_page(
        request,
        person=consent.person,
        title=_("Withdraw consent"),
        withdraw=lambda note: actions.withdraw_consent(consent, actor=request.user, note=note),
    )


def _person_form_page(
    request: AuthenticatedHttpRequest,
    form: forms.BaseForm,
    *,
    person: Person,
    title: str,
    save: Callable[[dict[str, Any]], object],
    saved: str,
) -> HttpResponse:
    """A form about one person: on a valid post ``save`` it (a refusal is shown on the
    form) and go back to the person's page with the message ``saved``."""
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except actions.ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, saved)
            return redirect("people:detail", person_id=person.id)
    return render(request, "people/simple_form.html", {"form": form, "person": person, "title": title})


def _given_now() -> dict[str, Any]:
    """A consent form's first value: given now."""
    return {"given_at": clock.now().astimezone(clock.STOCKHOLM)}


def _withdraw_page(
    request: AuthenticatedHttpRequest, *, person: Person, title: str, withdraw: Callable[[str], object]
) -> HttpResponse:
    """A consent to withdraw (the person's own or a co-resident's), with a note; back to the person's page."""
    form = WithdrawConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            withdraw(form.cleaned_data["note"])
        except actions.ActionRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, _("The consent is withdrawn. No camera check can start for this person."))
        return redirect("people:detail", person_id=person.id)
    return render(request, "people/simple_form.html", {"form": form, "person": person, "title": title, "danger": True})


@login_required
def absence_create(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, Role.PLANNER, Role.SHIFT_LEAD)
    return _person_form_page(
        request,
        AbsenceForm(request.POST or None, person=person),
        person=person,
        title=_("Register absence"),
        save=lambda data: actions.register_absence(person, actor=request.user, **data),
        saved=_("The absence is registered; no checks are made during it."),
    )


@login_required
@require_POST
def skip_tonight(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, Role.PLANNER, Role.SHIFT_LEAD)
    now = clock.now()
    night_end = datetime.combine(night_of(now) + timedelta(days=1), NIGHT_STARTS).replace(tzinfo=clock.STOCKHOLM)
    try:
        actions.register_absence(
            person,
            actor=request.user,
            kind=AbsenceKind.SKIP_NIGHT,
            starts_at=now,
            ends_at=night_end,
            note=request.POST.get("note", "")[:300],
        )
    except actions.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Tonight's remaining checks are cancelled."))
    return redirect("people:detail", person_id=person.id)


@login_required
def co_resident_create(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, *EDITORS)
    form = CoResidentForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        co_resident = actions.add_co_resident(
            person, actor=request.user, name=form.cleaned_data["name"], personnummer=form.cleaned_data["personnummer"]
        )
        messages.success(
            request,
            _("%(name)s is registered. Camera checks wait until %(name)s has consented.") % {"name": co_resident.name},
        )
        return redirect("people:co-resident-consent", co_resident_id=co_resident.id)
    return render(
        request, "people/simple_form.html", {"form": form, "person": person, "title": _("Register co-resident")}
    )


@login_required
def co_resident_consent_create(request: AuthenticatedHttpRequest, co_resident_id: int) -> HttpResponse:
    co_resident = get_co_resident_for_user(request, co_resident_id, *EDITORS)
    return _person_form_page(
        request,
        CoResidentConsentForm(request.POST or None, initial=_given_now()),
        person=co_resident.person,
        title=_("Register %(name)s's consent to camera supervision") % {"name": co_resident.name},
        save=lambda data: actions.register_co_resident_consent(co_resident, actor=request.user, **data),
        saved=_("The consent is registered."),
    )


@login_required
def co_resident_consent_withdraw(request: AuthenticatedHttpRequest, co_resident_consent_id: int) -> HttpResponse:
    consent = get_co_resident_consent_for_user(request, co_resident_consent_id, *EDITORS)
    return _withdraw_page(
        request,
        person=consent.co_resident.person,
        title=_("Withdraw %(name)s's consent") % {"name": consent.co_resident.name},
        withdraw=lambda note: actions.withdraw_co_resident_consent(consent, actor=request.user, note=note),
    )
