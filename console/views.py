"""The night's pages: operator console, live view, night patrol, shift lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, Count, DateTimeField, F, Q, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import require_role, roles_for
from accounts.models import Role, Tenant
from cameras.access import get_camera_for_user
from cameras.actions import AccessRefused, grant_token_for_viewer, open_training_view
from cameras.models import Camera, GrantPurpose, ViewGrant
from checks import actions
from checks.access import (
    get_alarm_for_lead,
    get_attempt_for_operator,
    get_check_for_operator,
    get_escalation_for_patrol,
)
from checks.forms import ResolveEscalationForm
from checks.models import (
    Alarm,
    Check,
    CheckForm,
    CheckState,
    Escalation,
    EscalationState,
    NightReconciliation,
    Outcome,
    WorkerHeartbeat,
)
from checks.nights import night_of
from checks.rules import EARLY_OPEN
from nattillsyn import clock
from nattillsyn.net import client_ip
from people.actions import ActionRefused

CONSOLE_STATES = (CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT, CheckState.IN_PROGRESS)
CONSOLE_HORIZON = timedelta(hours=3)
CONSOLE_NOW_LIMIT = 50
CONSOLE_NEXT_LIMIT = 10
WORKER_SILENT_AFTER = timedelta(minutes=2)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = roles_for(request.user)
    for role, url_name in [
        (Role.OPERATOR, "console:operator"),
        (Role.PATROL, "console:patrol"),
        (Role.SHIFT_LEAD, "console:lead"),
        (Role.PLANNER, "people:list"),
        (Role.CASE_OFFICER, "people:list"),
        (Role.INSTALLER, "cameras:list"),
        (Role.AUDITOR, "audit:log"),
        (Role.ADMINISTRATOR, "people:list"),
    ]:
        if role in roles:
            return redirect(url_name)
    return render(request, "console/no_role.html")


def worker_is_silent() -> bool:
    newest = WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    return newest is None or newest < clock.now() - WORKER_SILENT_AFTER


@dataclass(frozen=True)
class ConsoleRow:
    """A check as the operator's list shows it."""

    check: Check
    effective_at: datetime  # the agreed time, or the retry's time
    is_overdue: bool
    is_openable: bool


def _console_row(check: Check, now: datetime) -> ConsoleRow:
    effective_at = check.next_attempt_at if check.state == CheckState.RETRY_WAIT else check.scheduled_at
    assert effective_at is not None
    grace = timedelta(minutes=check.tenant.overdue_grace_min)
    return ConsoleRow(
        check=check,
        effective_at=effective_at,
        is_overdue=check.state == CheckState.DUE and check.due_at is not None and check.due_at + grace <= now,
        is_openable=check.state != CheckState.IN_PROGRESS and effective_at - EARLY_OPEN <= now,
    )


@dataclass(frozen=True)
class OperatorList:
    """What the operator's console shows: the work to do now, then the next few."""

    now_rows: list[ConsoleRow]
    more_now: int  # openable checks beyond the list (the list shows the oldest first)
    next_rows: list[ConsoleRow]
    more_later: int  # later camera checks within the horizon, not listed

    @property
    def rows(self) -> list[ConsoleRow]:
        return self.now_rows + self.next_rows


def _operator_checks(request: HttpRequest) -> OperatorList:
    """Tonight's camera checks for the operator's tenants, as few rows as the work needs.

    1. Now: every check that can or must be opened (overdue, due, a retry whose time
       has come, one being looked at), oldest first, so the overdue are on top; at
       most CONSOLE_NOW_LIMIT of them, with the number of the rest.
    2. Next: the following CONSOLE_NEXT_LIMIT checks within the horizon, and how many
       more come later. A whole night listed at once (1,700 rows at 1,000 persons) made
       every 10-second poll cost half a megabyte and most of a second.
    """
    tenant_ids = require_role(request.user, Role.OPERATOR)
    now = clock.now()
    opens_from = now + EARLY_OPEN
    tonight = Check.objects.filter(
        tenant_id__in=tenant_ids,
        form=CheckForm.CAMERA,
        state__in=CONSOLE_STATES,
        scheduled_at__lte=now + CONSOLE_HORIZON,
    ).annotate(
        effective=Case(
            When(state=CheckState.RETRY_WAIT, then=F("next_attempt_at")),
            default=F("scheduled_at"),
            output_field=DateTimeField(),
        )
    )
    openable = Q(state__in=(CheckState.DUE, CheckState.IN_PROGRESS)) | Q(effective__lte=opens_from)
    now_checks = list(
        tonight.filter(openable).select_related("person", "tenant").order_by("effective", "id")[: CONSOLE_NOW_LIMIT + 1]
    )
    next_checks = list(
        tonight.exclude(openable)
        .select_related("person", "tenant")
        .order_by("effective", "id")[: CONSOLE_NEXT_LIMIT + 1]
    )
    # Counted only when the list is cut: the usual poll stays two queries.
    more_now = tonight.filter(openable).count() - CONSOLE_NOW_LIMIT if len(now_checks) > CONSOLE_NOW_LIMIT else 0
    more_later = tonight.exclude(openable).count() - CONSOLE_NEXT_LIMIT if len(next_checks) > CONSOLE_NEXT_LIMIT else 0
    now_rows = [_console_row(check, now) for check in now_checks[:CONSOLE_NOW_LIMIT]]
    now_rows.sort(key=lambda row: (not row.is_overdue, row.effective_at))
    return OperatorList(
        now_rows=now_rows,
        more_now=more_now,
        next_rows=[_console_row(check, now) for check in next_checks[:CONSOLE_NEXT_LIMIT]],
        more_later=more_later,
    )


@login_required
def operator_console(request: HttpRequest) -> HttpResponse:
    context = {"checks": _operator_checks(request), "worker_silent": worker_is_silent(), "now": clock.now()}
    template = "console/_operator_rows.html" if request.headers.get("HX-Request") else "console/operator.html"
    return render(request, template, context)


@login_required
@require_POST
def open_check(request: HttpRequest, check_id: int) -> HttpResponse:
    check = get_check_for_operator(request, check_id)
    try:
        attempt, _token = actions.open_check(check, actor=request.user, ip=client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("console:operator")
    return redirect("console:attempt", attempt_id=attempt.id)


@login_required
def attempt_view(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_attempt_for_operator(request, attempt_id)
    grant = getattr(attempt, "grant", None)
    token = None
    if grant is not None and not attempt.outcome and grant.redeemed_at is None and grant.revoked_at is None:
        # The token is signed again from the stored grant, so reloading the page before
        # pressing "view" still works; it stays single use at the gateway.
        token = _token_for_this_browser(request, grant)
    return render(
        request,
        "console/attempt.html",
        {
            "attempt": attempt,
            "check": attempt.night_check,
            "person": attempt.night_check.person,
            "grant": grant,
            "token": token,
            "gateway_url": settings.GATEWAY_URL,
            "outcomes": Outcome.choices,
            "agreement": getattr(attempt.night_check.person, "agreement", None),
        },
    )


def _token_for_this_browser(request: HttpRequest, grant: ViewGrant) -> str | None:
    try:
        return grant_token_for_viewer(grant, actor=request.user, ip=client_ip(request))
    except AccessRefused as refusal:
        messages.error(request, str(refusal))
        return None


@login_required
@require_POST
def record_outcome(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_attempt_for_operator(request, attempt_id)
    try:
        check = actions.record_outcome(attempt, actor=request.user, outcome=request.POST.get("outcome", ""))
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("console:attempt", attempt_id=attempt.id)
    messages.success(request, f"{check.person.name}: {Outcome(request.POST['outcome']).label}")
    return redirect("console:operator")


# --- Training -------------------------------------------------------------------------------------------


@login_required
def training(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.OPERATOR)
    cameras = Camera.objects.filter(tenant_id__in=tenant_ids, training_only=True, person__isnull=True)
    return render(request, "console/training.html", {"cameras": cameras})


@login_required
@require_POST
def open_training(request: HttpRequest, camera_id: int) -> HttpResponse:
    camera = get_camera_for_user(request, camera_id, Role.OPERATOR)
    try:
        grant = open_training_view(camera, actor=request.user, ip=client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("console:training")
    return redirect("console:grant-view", gid=grant.gid)


@login_required
def grant_view(request: HttpRequest, gid: str) -> HttpResponse:
    """The live view of a training or installation-test grant (no check, no outcome)."""
    tenant_ids = require_role(request.user, Role.OPERATOR)
    grant = (
        ViewGrant.objects.filter(
            gid=gid,
            operator_id=request.user.pk,
            tenant_id__in=tenant_ids,
            purpose__in=(GrantPurpose.TRAINING, GrantPurpose.INSTALL_TEST),
        )
        .select_related("camera", "tenant")
        .first()
    )
    if grant is None:
        raise Http404
    usable = grant.redeemed_at is None and grant.revoked_at is None and grant.start_by > clock.now()
    return render(
        request,
        "console/grant_view.html",
        {
            "grant": grant,
            "token": _token_for_this_browser(request, grant) if usable else None,
            "gateway_url": settings.GATEWAY_URL,
        },
    )


# --- Night patrol ---------------------------------------------------------------------------------------


@login_required
def patrol(request: HttpRequest) -> HttpResponse:
    # console.patrol is imported here, not at the head of the module, only while the
    # rest of this module is being rewritten; move it up at the next edit there.
    from console import patrol as patrol_list

    tenant_ids = require_role(request.user, Role.PATROL, Role.SHIFT_LEAD)
    escalations = patrol_list.escalations_for_patrol(tenant_ids)
    template = "console/_patrol_rows.html" if request.headers.get("HX-Request") else "console/patrol.html"
    return render(request, template, {"escalations": escalations, "resolve_form": ResolveEscalationForm()})


@login_required
@require_POST
def acknowledge_escalation(request: HttpRequest, escalation_id: int) -> HttpResponse:
    from console import patrol as patrol_list

    escalation = get_escalation_for_patrol(request, escalation_id)
    try:
        actions.acknowledge_escalation(escalation, actor=request.user)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, patrol_list.acknowledged_message(escalation))
    return redirect(reverse("console:patrol") + f"#escalation-{escalation.id}")


@login_required
@require_POST
def resolve_escalation(request: HttpRequest, escalation_id: int) -> HttpResponse:
    from console import patrol as patrol_list

    escalation = get_escalation_for_patrol(request, escalation_id)
    back = reverse("console:patrol") + f"#escalation-{escalation.id}"
    if escalation.state == EscalationState.OPEN:
        messages.error(request, patrol_list.acknowledge_first_message())
        return redirect(back)
    form = ResolveEscalationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(str(error) for error in form.errors.get("result", [])))
        return redirect(back)
    try:
        resolved = actions.resolve_escalation(
            escalation, actor=request.user, result=form.cleaned_data["result"], note=form.cleaned_data["note"]
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, patrol_list.recorded_message(resolved))
    return redirect("console:patrol")


# --- Shift lead -----------------------------------------------------------------------------------------


@login_required
def lead_board(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.SHIFT_LEAD)
    tonight = night_of(clock.now())
    counts = dict(
        Check.objects.filter(tenant_id__in=tenant_ids, night=tonight)
        .values_list("state")
        .annotate(total=Count("id"))
        .values_list("state", "total")
    )
    alarms = Alarm.objects.filter(tenant_id__in=tenant_ids, acknowledged_at__isnull=True).select_related(
        "night_check__person", "escalation__person", "tenant"
    )
    open_escalations = (
        Escalation.objects.filter(tenant_id__in=tenant_ids)
        .exclude(state=EscalationState.RESOLVED)
        .select_related("person", "acknowledged_by")
    )
    last_night = NightReconciliation.objects.filter(tenant_id__in=tenant_ids, night=tonight - timedelta(days=1))
    template = "console/_lead_body.html" if request.headers.get("HX-Request") else "console/lead.html"
    return render(
        request,
        template,
        {
            "last_night": last_night.select_related("tenant"),
            "tonight": tonight,
            "alarms": alarms,
            "open_escalations": open_escalations,
            "state_counts": [(state.label, counts.get(state.value, 0)) for state in CheckState],
            "worker_silent": worker_is_silent(),
            "tenants": Tenant.objects.filter(id__in=tenant_ids),
        },
    )


@login_required
@require_POST
def acknowledge_alarm(request: HttpRequest, alarm_id: int) -> HttpResponse:
    alarm = get_alarm_for_lead(request, alarm_id)
    actions.acknowledge_alarm(alarm, actor=request.user)
    return redirect("console:lead")
