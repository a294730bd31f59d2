"""Follow-up pages: tonight, this morning, one person, the municipality, the benefit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.access import roles_for, tenant_ids_for
from accounts.types import AuthenticatedHttpRequest
from checks.models import EscalationCause, EscalationKind, EscalationResult, Outcome
from checks.reasons import ReasonKind, split_reason
from nattillsyn import clock
from nattillsyn.codes import label
from people.access import get_person_for_user
from people.models import AbsenceKind
from reports import charts, figures
from reports.access import (
    ANY_REPORT_ROLES,
    MANAGEMENT_ROLES,
    PARAMETER_EDITORS,
    PERSON_ROLES,
    TONIGHT_ROLES,
    report_tenants,
)
from reports.actions import benefit_parameters_for, save_benefit_parameters
from reports.benefit import Figure, benefit_figures
from reports.forms import BenefitParametersForm, MonthForm, NightForm, PeriodForm, PersonPickForm, TenantForm
from reports.tables import Table, csv_response


def _first_id(tenants: Any) -> int:
    """The default tenant; iterating fills the queryset's cache, so the form's choices cost no query."""
    return next(iter(tenants)).id


def _filter_data(request: HttpRequest, defaults: dict[str, Any]) -> dict[str, Any]:
    """The GET filter over its defaults, so a bare address shows something sensible."""
    data = dict(defaults)
    data.update({key: value for key, value in request.GET.items() if key not in ("format", "table")})
    return data


def _export_base(request: HttpRequest) -> str:
    query = urlencode([(key, value) for key, value in request.GET.items() if key not in ("format", "table")])
    return f"?{query}&" if query else "?"


def _respond(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    tables: Sequence[Table] = (),
    filename: str = "report",
    status: int = 200,
) -> HttpResponse:
    if status == 200 and request.GET.get("format") == "csv":
        return csv_response(tables, request.GET.get("table", ""), filename)
    context.update(tables={table.slug: table for table in tables}, export_base=_export_base(request))
    return render(request, template, context, status=status)


def _invalid(request: HttpRequest, template: str, form: Any, **context: Any) -> HttpResponse:
    return _respond(request, template, {"form": form, **context}, status=400)


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def end_reason_label(reason: str) -> str:
    """The machine end reasons of checks.actions, in words."""
    if not reason:
        return ""
    kind_and_value = split_reason(reason)
    if kind_and_value is not None:
        kind, value = kind_and_value
        if kind == ReasonKind.ABSENCE:
            return _("Absence: %(kind)s") % {"kind": _label(AbsenceKind, value)}
        return _label(EscalationResult, value)
    if reason == "agreement_changed":
        return _("Agreement changed")
    if reason in Outcome.values:
        return _label(Outcome, reason)
    return _label(EscalationCause, reason)


@never_cache
@login_required
def index(request: HttpRequest) -> HttpResponse:
    report_tenants(request, *ANY_REPORT_ROLES)
    roles = roles_for(request.user)
    return render(
        request,
        "reports/index.html",
        {
            "tonight": bool(roles & set(TONIGHT_ROLES)),
            "person": bool(roles & set(PERSON_ROLES)),
            "management": bool(roles & set(MANAGEMENT_ROLES)),
        },
    )


# --- Tonight ---------------------------------------------------------------------------------------------------


@never_cache
@login_required
def tonight(request: HttpRequest) -> HttpResponse:
    tenants = report_tenants(request, *TONIGHT_ROLES)
    form = TenantForm(_filter_data(request, {"tenant": _first_id(tenants)}), tenants=tenants)
    template = "reports/_tonight_body.html" if request.headers.get("HX-Request") else "reports/tonight.html"
    if not form.is_valid():
        return _invalid(request, template, form)
    tenant = form.cleaned_data["tenant"]
    now = clock.now()
    night = figures.tonight_figures(tenant, now)
    labels = [
        ("total", _("Checks tonight")),
        ("done", _("Done")),
        ("waiting", _("Not yet due")),
        ("due", _("Due now")),
        ("overdue", _("Overdue")),
        ("retried", _("Retried (not visible once)")),
        ("escalated", _("Escalated")),
        ("visits_pending", _("Visits pending")),
        ("cancelled", _("Cancelled")),
        ("faults", _("Camera faults")),
        ("open_escalations", _("Open escalations")),
    ]
    summary = Table(
        "summary", _("Tonight"), [_("What"), _("Number")], [[label, night.counts[key]] for key, label in labels]
    )
    overdue = Table(
        "overdue",
        _("Overdue checks"),
        [_("Agreed time"), _("Person"), _("Unit"), _("Due since")],
        [[check.scheduled_at, check.person.name, check.person.unit, check.due_at] for check in night.overdue],
    )
    open_escalations = Table(
        "escalations",
        _("Open escalations and visits"),
        [_("Since"), _("Person"), _("Cause"), _("State"), _("Acknowledged by")],
        [
            [
                e.created_at,
                e.person.name,
                e.get_cause_display(),
                e.get_state_display(),
                e.acknowledged_by.get_username() if e.acknowledged_by else "",
            ]
            for e in night.open_escalations
        ],
        row_classes=[e.state for e in night.open_escalations],
    )
    hour_chart = charts.stacked_bars(
        _("Checks per hour tonight"),
        [f"{row['hour']:02d}" for row in night.hours],
        [
            (_("Done"), "ok", [row["done"] for row in night.hours]),
            (_("Escalated"), "danger", [row["escalated"] for row in night.hours]),
            (_("Still open"), "muted", [row["open"] for row in night.hours]),
        ],
    )
    return _respond(
        request,
        template,
        {
            "form": form,
            "tenant": tenant,
            "night": night,
            "now": now,
            "hour_chart": hour_chart,
            "refresh_query": urlencode({"tenant": tenant.id}),
        },
        tables=[summary, overdue, open_escalations],
        filename=f"tonight-{night.night}",
    )


# --- This morning -------------------------------------------------------------------------------------------------


@never_cache
@login_required
def morning(request: HttpRequest) -> HttpResponse:
    tenants = report_tenants(request, *TONIGHT_ROLES)
    default_night = figures.last_night(clock.now())
    form = NightForm(
        _filter_data(request, {"tenant": _first_id(tenants), "night": default_night.isoformat()}), tenants=tenants
    )
    if not form.is_valid():
        return _invalid(request, "reports/morning.html", form)
    tenant, night_date = form.cleaned_data["tenant"], form.cleaned_data["night"]
    report = figures.morning_figures(tenant, night_date)
    checks = Table(
        "checks",
        _("Every check"),
        [
            _("Agreed time"),
            _("Person"),
            _("Unit"),
            _("Form"),
            _("End state"),
            _("Reason"),
            _("Attempts"),
            _("Outcomes"),
            _("First opened on time"),
        ],
        [
            [
                check.scheduled_at,
                check.person.name,
                check.person.unit,
                check.get_form_display(),
                check.get_state_display(),
                end_reason_label(check.end_reason),
                len(check.attempts.all()),
                ", ".join(figures.attempt_outcomes(check)),
                figures.check_on_time(check),
            ]
            for check in report.checks
        ],
        row_classes=[check.state for check in report.checks],
    )
    escalations = Table(
        "escalations",
        _("Escalations and their results"),
        [_("Created"), _("Person"), _("Cause"), _("Plan"), _("Acknowledged"), _("Result"), _("Note"), _("Recorded by")],
        [
            [
                e.created_at,
                e.person.name,
                e.get_cause_display(),
                " → ".join(_label(EscalationKind, step) for step in e.plan),
                e.acknowledged_at,
                e.get_result_display() or _("No result yet"),
                e.result_note,
                e.resolved_by.get_username() if e.resolved_by else "",
            ]
            for e in report.escalations
        ],
        row_classes=[e.state for e in report.escalations],
    )
    faults = Table(
        "faults",
        _("Faults"),
        [_("When"), _("Person"), _("Problem"), _("Result")],
        [
            [
                e.created_at,
                e.person.name,
                label(e.night_check.camera_fault if e.night_check else "") or _("Reported by the operator"),
                e.get_result_display() or _("No result yet"),
            ]
            for e in report.faults
        ],
    )
    kinds = {
        "camera": _("Camera to repair"),
        "agreement": _("Agreement to review"),
        "escalation": _("Escalation without result"),
    }
    actions = Table(
        "actions",
        _("For the day staff"),
        [_("What"), _("Person"), _("Why")],
        [[kinds[a.kind], a.person.name, a.reason] for a in report.actions],
    )
    totals = report.totals
    summary = Table(
        "summary",
        _("The night in figures"),
        [_("What"), _("Number")],
        [
            [_("Checks ended (done or escalated)"), totals.checks],
            [_("Done"), totals.done],
            [_("Camera checks done on time"), totals.done_camera_on_time],
            [_("Camera checks done late"), totals.done_camera_late],
            [_("Physical visits done"), totals.done_physical],
            [_("Retried"), totals.retries],
            [_("Escalated"), totals.escalated],
            [_("Cancelled"), totals.cancelled],
            [_("Faults"), len(report.faults)],
        ],
    )
    return _respond(
        request,
        "reports/morning.html",
        {"form": form, "tenant": tenant, "report": report},
        tables=[summary, actions, checks, escalations, faults],
        filename=f"morning-{night_date}",
    )


# --- One person ---------------------------------------------------------------------------------------------------


@never_cache
@login_required
def persons(request: HttpRequest) -> HttpResponse:
    tenant_ids = {tenant.id for tenant in report_tenants(request, *PERSON_ROLES)}
    if "person" not in request.GET:
        return render(
            request,
            "reports/persons.html",
            {"form": PersonPickForm(initial=PeriodForm.default_period(), tenant_ids=tenant_ids)},
        )
    form = PersonPickForm(_filter_data(request, PeriodForm.default_period()), tenant_ids=tenant_ids)
    if not form.is_valid():
        return render(request, "reports/persons.html", {"form": form}, status=400)
    data = form.cleaned_data
    return redirect(
        reverse("reports:person", args=[data["person"].id])
        + "?"
        + urlencode({"date_from": data["date_from"].isoformat(), "date_to": data["date_to"].isoformat()})
    )


@never_cache
@login_required
def person_history(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request, person_id, *PERSON_ROLES)
    form = PeriodForm(_filter_data(request, PeriodForm.default_period()))
    if not form.is_valid():
        return _invalid(request, "reports/person.html", form, person=person)
    first, last = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    history = figures.person_history(person, first, last + timedelta(days=1))
    totals = history.totals
    summary = Table(
        "summary",
        _("Summary"),
        [_("What"), _("Number"), _("How it is counted")],
        [
            [_("Checks ended (done or escalated)"), totals.checks, ""],
            [
                _("Camera checks done on time"),
                totals.done_camera_on_time,
                _("first attempt opened within 5 minutes of the agreed time"),
            ],
            [
                _("Camera checks done late"),
                totals.done_camera_late,
                f"{totals.done_camera} − {totals.done_camera_on_time}",
            ],
            [_("Physical visits done"), totals.done_physical, ""],
            [
                _("“Not visible” rate (%)"),
                history.not_visible_rate,
                _("%(nv)s “not visible” of %(all)s attempts with an outcome")
                % {"nv": history.not_visible, "all": history.attempts_with_outcome},
            ],
            [_("Retried"), totals.retries, ""],
            [_("Escalations"), len(history.escalations), ""],
            [_("Faults"), len(history.faults), ""],
            [_("Nights skipped"), len({night for night, _reason in history.skipped}), _("absence registered")],
        ],
    )
    nights = Table(
        "nights",
        _("Night by night"),
        [
            _("Night"),
            _("Checks"),
            _("Done on time"),
            _("Done late"),
            _("Visits done"),
            _("Retried"),
            _("Escalated"),
            _("Cancelled"),
        ],
        [
            [
                n.night,
                n.checks,
                n.done_camera_on_time,
                n.done_camera_late,
                n.done_physical,
                n.retries,
                n.escalated,
                n.cancelled,
            ]
            for n in history.nights
        ],
    )
    escalations = Table(
        "escalations",
        _("Escalations and what they found"),
        [_("When"), _("Cause"), _("Result"), _("Note")],
        [
            [e.created_at, e.get_cause_display(), e.get_result_display() or _("No result yet"), e.result_note]
            for e in history.escalations
        ],
    )
    faults = Table(
        "faults",
        _("Faults"),
        [_("When"), _("Problem")],
        [
            [e.created_at, label(e.night_check.camera_fault if e.night_check else "") or _("Reported by the operator")]
            for e in history.faults
        ],
    )
    skipped = Table(
        "skipped",
        _("Nights skipped"),
        [_("Night"), _("Reason")],
        [[night, end_reason_label(reason)] for night, reason in history.skipped],
    )
    every_night = history.every_night()
    chart = charts.stacked_bars(
        _("Checks per night"),
        [n.night.strftime("%d/%m") for n in every_night],
        [
            (_("On time"), "ok", [n.done_camera_on_time for n in every_night]),
            (_("Late"), "warn", [n.done_camera_late for n in every_night]),
            (_("Visit"), "accent", [n.done_physical for n in every_night]),
            (_("Escalated"), "danger", [n.escalated for n in every_night]),
        ],
        label_every=max(1, len(every_night) // 12),
    )
    return _respond(
        request,
        "reports/person.html",
        {
            "form": form,
            "person": person,
            "history": history,
            "chart": chart,
        },
        tables=[summary, nights, escalations, faults, skipped],
        filename=f"person-{person.id}-{first}-{last}",
    )


# --- The municipality ---------------------------------------------------------------------------------------------


def _month_form(request: HttpRequest) -> MonthForm:
    tenants = report_tenants(request, *MANAGEMENT_ROLES)
    today = clock.today()
    default_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")  # the last whole month
    return MonthForm(_filter_data(request, {"tenant": _first_id(tenants), "month": default_month}), tenants=tenants)


def unit_name(unit: str) -> str:
    return unit or _("(no unit)")


def monthly_tables(report: figures.MonthlyFigures, benefit: list[Figure]) -> list[Table]:
    def unit_row(u: figures.UnitFigures, name: str) -> list[Any]:
        return [
            name,
            u.persons_camera,
            u.persons_physical_only,
            u.checks,
            u.done,
            u.on_time_rate,
            u.retries,
            u.escalated,
            u.visits_made,
            u.visits_avoided,
            u.faults,
            u.fault_nights,
            u.average_view_s,
        ]

    units = Table(
        "units",
        _("Per unit"),
        [
            _("Unit"),
            _("Persons with camera"),
            _("Persons with visits only"),
            _("Checks"),
            _("Done"),
            _("On time (%)"),
            _("Retries"),
            _("Escalations"),
            _("Visits made"),
            _("Visits avoided"),
            _("Camera faults"),
            _("Fault nights"),
            _("Average view (s)"),
        ],
        [unit_row(u, unit_name(u.unit)) for u in report.units],
        footer=unit_row(report.total, _("Total")),
    )
    nights = Table(
        "nights",
        _("Night by night"),
        [_("Night"), _("Camera checks counted"), _("On time"), _("On time (%)"), _("Done"), _("Escalations")],
        [[n.night, n.camera_ended, n.on_time, n.on_time_rate, n.done, n.escalated] for n in report.nights],
    )
    hours = Table(
        "hours",
        _("Checks per hour of the night"),
        [_("Hour"), _("Checks"), _("Done"), _("Escalated")],
        [[f"{h.hour:02d}:00", h.checks, h.done, h.escalated] for h in report.hours],
    )
    results = [("", _("No result yet"))] + [(value, str(label)) for value, label in EscalationResult.choices]
    causes = Table(
        "causes",
        _("Escalations by cause and result"),
        [_("Cause"), _("Escalations")] + [label for _value, label in results],
        [[c.label, c.total] + [c.results.get(value, 0) for value, _label in results] for c in report.causes],
    )
    benefit_table = Table(
        "benefit",
        _("Benefit"),
        [_("Figure"), _("Value"), _("Unit"), _("How it is computed")],
        [[f.label, f.value, f.unit, f.formula] for f in benefit],
    )
    return [units, nights, hours, causes, benefit_table]


def monthly_charts(report: figures.MonthlyFigures) -> dict[str, charts.Chart]:
    return {
        "on_time": charts.bars(
            _("On time (%) night by night"),
            [(n.night.strftime("%d"), n.on_time_rate) for n in report.nights],
            colour="ok",
            top_value=100,
            suffix=" %",
            label_every=2,
        ),
        "hours": charts.stacked_bars(
            _("Checks per hour of the night"),
            [f"{h.hour:02d}" for h in report.hours],
            [
                (_("Done"), "ok", [h.done for h in report.hours]),
                (_("Escalated"), "danger", [h.escalated for h in report.hours]),
            ],
        ),
        "causes": charts.horizontal_bars(
            _("Escalations by cause"),
            [(c.label, c.total) for c in report.causes if c.cause != EscalationCause.PLANNED_VISIT],
        ),
    }


@never_cache
@login_required
def monthly(request: HttpRequest) -> HttpResponse:
    form = _month_form(request)
    if not form.is_valid():
        return _invalid(request, "reports/monthly.html", form)
    tenant, month = form.cleaned_data["tenant"], form.cleaned_data["month"]
    report = figures.monthly_figures(tenant, month)
    parameters = benefit_parameters_for(tenant)
    benefit = benefit_figures(
        parameters, visits_avoided=report.total.visits_avoided, camera_persons=report.total.persons_camera
    )
    tables = monthly_tables(report, benefit)
    if request.GET.get("format") == "pdf":
        from reports.pdf import monthly_pdf

        response = HttpResponse(monthly_pdf(report, tables, monthly_charts(report)), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="monthly-{tenant.slug}-{month:%Y-%m}.pdf"'
        return response
    return _respond(
        request,
        "reports/monthly.html",
        {
            "form": form,
            "tenant": tenant,
            "report": report,
            "charts": monthly_charts(report),
            "benefit": {figure.key: figure for figure in benefit},
        },
        tables=tables,
        filename=f"monthly-{tenant.slug}-{month:%Y-%m}",
    )


# --- Benefit --------------------------------------------------------------------------------------------------------


def parameter_rows(parameters: Any) -> list[list[Any]]:
    return [
        [str(parameters._meta.get_field(name).verbose_name), getattr(parameters, name)] for name in parameters.FIELDS
    ]


@never_cache
@login_required
def benefit(request: HttpRequest) -> HttpResponse:
    form = _month_form(request)
    if not form.is_valid():
        return _invalid(request, "reports/benefit.html", form)
    tenant, month = form.cleaned_data["tenant"], form.cleaned_data["month"]
    basis = figures.benefit_basis(tenant, month)
    parameters = benefit_parameters_for(tenant)
    result = benefit_figures(parameters, visits_avoided=basis.visits_avoided, camera_persons=basis.camera_persons)
    figure_table = Table(
        "benefit",
        _("Benefit"),
        [_("Figure"), _("Value"), _("Unit"), _("How it is computed")],
        [[f.label, f.value, f.unit, f.formula] for f in result],
    )
    parameter_table = Table("parameters", _("Parameters"), [_("Parameter"), _("Value")], parameter_rows(parameters))
    return _respond(
        request,
        "reports/benefit.html",
        {
            "form": form,
            "tenant": tenant,
            "month": month,
            "figures": result,
            "parameters": parameters,
            "can_edit": tenant.id in tenant_ids_for(request.user, *PARAMETER_EDITORS),
        },
        tables=[figure_table, parameter_table],
        filename=f"benefit-{tenant.slug}-{month:%Y-%m}",
    )


@never_cache
@login_required
def parameters(request: AuthenticatedHttpRequest) -> HttpResponse:
    tenants = report_tenants(request, *PARAMETER_EDITORS)
    source = request.POST if request.method == "POST" else request.GET
    tenant_form = TenantForm({"tenant": source.get("tenant") or _first_id(tenants)}, tenants=tenants)
    if not tenant_form.is_valid():
        return render(request, "reports/parameters.html", {"tenant_form": tenant_form, "form": None}, status=400)
    tenant = tenant_form.cleaned_data["tenant"]
    current = benefit_parameters_for(tenant)
    form = BenefitParametersForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        save_benefit_parameters(
            tenant, actor=request.user, **{name: form.cleaned_data[name] for name in current.FIELDS}
        )
        messages.success(request, _("The parameters are saved."))
        return redirect(reverse("reports:benefit") + "?" + urlencode({"tenant": tenant.id}))
    return render(request, "reports/parameters.html", {"tenant_form": tenant_form, "form": form, "tenant": tenant})
