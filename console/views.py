"""The night's pages: operator console, live view, night patrol, shift lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, Count, DateTimeField, F, OuterRef, Subquery, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require_role, roles_for
from accounts.models import Role, Tenant
from accounts.types import AuthenticatedHttpRequest
from cameras import gateways
from cameras.access import get_camera_for_user
from cameras.actions import AccessRefused, grant_token_for_viewer, open_training_view
from cameras.models import Camera, GrantPurpose, ViewGrant
from cameras.policy import check_opens_at, openable_checks
from checks import actions
from checks.access import (
    get_alarm_for_lead,
    get_attempt_for_operator,
    get_check_for_operator,
    get_escalation_for_patrol,
)
from checks.forms import ResolveEscalationForm
from checks.heartbeat import worker_is_silent
from checks.models import (
    Alarm,
    Attempt,
    Check,
    CheckForm,
    CheckState,
    Escalation,
    EscalationState,
    NightReconciliation,
    Outcome,
)
from checks.nights import night_of
from checks.overdue import is_overdue
from console import patrol as patrol_list
from console.clear_view import blur_context
from gateway.turn import ice_servers, parse_turn_urls
from nattillsyn import clock
from nattillsyn.errors import ActionRefused
from nattillsyn.net import client_ip
from nattillsyn.security import content_security_policy
from notifications.vapid import application_server_key

CONSOLE_STATES = (CheckState.PLANNED, CheckState.DUE, CheckState.RETRY_WAIT, CheckState.IN_PROGRESS)
CONSOLE_HORIZON = timedelta(hours=3)
CONSOLE_NOW_LIMIT = 50
CONSOLE_NEXT_LIMIT = 10


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


@dataclass(frozen=True)
class ConsoleRow:
    """A check as the operator's list shows it."""

    check: Check
    effective_at: datetime  # the agreed time, or the retry's time
    is_overdue: bool
    is_openable: bool
    held_by: str = ""  # who has it open (in progress), for the colleagues' lists
    held_since: datetime | None = None
    is_mine: bool = False  # opened by the viewing operator: "open again"


def _console_row(check: Check, now: datetime, user_id: int | None) -> ConsoleRow:
    effective_at = check.next_attempt_at if check.state == CheckState.RETRY_WAIT else check.scheduled_at
    assert effective_at is not None
    opens_at = check_opens_at(check)
    in_progress = check.state == CheckState.IN_PROGRESS
    held_by = ""
    if in_progress:
        held_by = " ".join(
            part for part in (getattr(check, "holder_first", ""), getattr(check, "holder_last", "")) if part
        ) or str(getattr(check, "holder_username", "") or "")
    is_mine = in_progress and getattr(check, "holder_id", None) == user_id
    return ConsoleRow(
        check=check,
        effective_at=effective_at,
        is_overdue=is_overdue(check, check.tenant.overdue_grace_min, now),
        is_openable=(not in_progress or is_mine) and opens_at is not None and opens_at <= now,
        held_by=held_by,
        held_since=getattr(check, "holder_since", None) if in_progress else None,
        is_mine=is_mine,
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
    actions.note_console_open(tenant_ids, now)  # the worker readies the first due cameras
    holder = Attempt.objects.filter(night_check=OuterRef("pk"), outcome="").order_by("-opened_at", "-id")
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
        ),
        # Who has an opened check, in the same query (the list stays two queries).
        holder_id=Subquery(holder.values("operator_id")[:1]),
        holder_username=Subquery(holder.values("operator__username")[:1]),
        holder_first=Subquery(holder.values("operator__first_name")[:1]),
        holder_last=Subquery(holder.values("operator__last_name")[:1]),
        holder_since=Subquery(holder.values("opened_at")[:1]),
    )
    openable = openable_checks(now)
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
    user_id = request.user.pk
    now_rows = [_console_row(check, now, user_id) for check in now_checks[:CONSOLE_NOW_LIMIT]]
    now_rows.sort(key=lambda row: (not row.is_overdue, row.effective_at))
    return OperatorList(
        now_rows=now_rows,
        more_now=more_now,
        next_rows=[_console_row(check, now, user_id) for check in next_checks[:CONSOLE_NEXT_LIMIT]],
        more_later=more_later,
    )


@login_required
def operator_console(request: HttpRequest) -> HttpResponse:
    context = {
        "checks": _operator_checks(request),
        "worker_silent": worker_is_silent(),
        "now": clock.now(),
        "round_mode": bool(request.session.get(ROUND_MODE_KEY)),
    }
    template = "console/_operator_rows.html" if request.headers.get("HX-Request") else "console/operator.html"
    return render(request, template, context)


ROUND_MODE_KEY = "console_round_mode"


@login_required
@require_POST
def toggle_round_mode(request: HttpRequest) -> HttpResponse:
    """Round mode: after an outcome, the next due check opens by itself."""
    require_role(request.user, Role.OPERATOR)
    request.session[ROUND_MODE_KEY] = request.POST.get("on") == "1"
    return redirect("console:operator")


@login_required
@require_POST
def open_check(request: AuthenticatedHttpRequest, check_id: int) -> HttpResponse:
    check = get_check_for_operator(request, check_id)
    lost = request.POST.get("lost_gateway", "")
    if lost:
        # The page lost its view's gateway (docs/GATEWAY_PROTOCOL.md, "Several gateways"):
        # asked, and if it does not answer, this reopening goes to another one at once.
        gateways.check_reported_loss(lost[:40])
    try:
        attempt, _token = actions.open_check(check, actor=request.user, ip=client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("console:operator")
    return redirect("console:attempt", attempt_id=attempt.id)


@login_required
def attempt_view(request: AuthenticatedHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_attempt_for_operator(request, attempt_id)
    grant = getattr(attempt, "grant", None)
    token = None
    if grant is not None and not attempt.outcome and grant.redeemed_at is None and grant.revoked_at is None:
        # The token is signed again from the stored grant, so reloading the page before
        # the view started still works; it stays single use at the gateway.
        token = _token_for_this_browser(request, grant)
    check = attempt.night_check
    route = gateways.route_for_grant(grant) if grant is not None else gateways.settings_route()
    response = render(
        request,
        "console/attempt.html",
        {
            "attempt": attempt,
            "check": check,
            "person": check.person,
            "grant": grant,
            "token": token,
            "gateway_url": route.public_url,
            "gateway_id": route.gateway_id,
            "outcomes": Outcome.choices,
            "agreement": getattr(check.person, "agreement", None),
            # Opened again (a late start, a closed tab): same window, a new grant.
            "can_reopen": not attempt.outcome and token is None and check.state == CheckState.IN_PROGRESS,
            # Shown by the page when its view ends (a gateway lost, the time up): open again at once.
            "reopen_later": not attempt.outcome and token is not None and check.state == CheckState.IN_PROGRESS,
            "min_view_s": check.tenant.min_view_s,
            "ice_servers": ice_servers_for(grant) if token else [],
            "live_texts": live_texts(),
            **blur_context(grant),
        },
    )
    return with_gateway_csp(response, route)


def with_gateway_csp(response: HttpResponse, route: gateways.Route) -> HttpResponse:
    """The page's WHEP offer goes to the grant's gateway, which need not be the default one."""
    response["Content-Security-Policy"] = content_security_policy(route.public_url)
    return response


def ice_servers_for(grant: ViewGrant | None) -> list[dict[str, object]]:
    """TURN for this grant's browser: credentials that stop working when the grant ends."""
    if grant is None:
        return []
    return ice_servers(
        parse_turn_urls(settings.TURN_URLS), settings.TURN_SECRET, str(grant.gid), grant.hard_end.timestamp()
    )


def live_texts() -> dict[str, str]:
    """What the live-view script may say, translated here: never a code or the gateway's English."""
    return {
        "connecting": _("Connecting to the camera…"),
        "live": _("Live. Nothing is recorded."),
        "ended": _("The view has ended."),
        "ended_choose": _("The view has ended. Record what you saw, or open the camera again."),
        "connection_lost": _(
            "The connection to the camera was lost. Open the camera again, or record a technical fault."
        ),
        "grant_not_valid": _("This view is no longer valid. Open the camera again."),
        "camera_unreachable": _("The camera does not answer. Open it again, or record a technical fault."),
        "gateway_unavailable": _(
            "The camera server does not answer right now. Open again, or record a technical fault."
        ),
        "gateway_lost": _(
            "The connection to the camera server was lost. Open the camera again: the view opens through"
            " another camera server."
        ),
        "browser_unsupported": _("This browser could not receive the picture (video format). Call support."),
        "relay_unreachable": _(
            "No connection to the camera: this network blocks the picture and the relay server (TURN) does not"
            " answer. Call support, or record a technical fault."
        ),
        "low_quality": _("Lower picture quality (weak connection)."),
        "clear_picture_failed": _("The clear picture could not be switched on. Try again."),
    }


def _token_for_this_browser(request: AuthenticatedHttpRequest, grant: ViewGrant) -> str | None:
    try:
        return grant_token_for_viewer(grant, actor=request.user, ip=client_ip(request))
    except AccessRefused as refusal:
        messages.error(request, str(refusal))
        return None


@login_required
@require_POST
def record_outcome(request: AuthenticatedHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_attempt_for_operator(request, attempt_id)
    outcome = request.POST.get("outcome", "")
    try:
        check = actions.record_outcome(attempt, actor=request.user, outcome=outcome)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("console:attempt", attempt_id=attempt.id)
    level, text = _what_happens_next(check, outcome)
    messages.add_message(request, level, text)
    if request.session.get(ROUND_MODE_KEY):
        return _open_next_due_check(request)
    return redirect("console:operator")


def _what_happens_next(check: Check, outcome: str) -> tuple[int, str]:
    """The banner after an outcome: what the operator did, and what follows from it."""
    name = check.person.name
    if check.state == CheckState.DONE:
        return messages.SUCCESS, _("%(person)s: seen, OK. The check is done.") % {"person": name}
    if check.state == CheckState.RETRY_WAIT and check.next_attempt_at is not None:
        return messages.WARNING, _("%(person)s: not visible. New attempt at %(time)s.") % {
            "person": name,
            "time": f"{check.next_attempt_at.astimezone(clock.STOCKHOLM):%H:%M}",
        }
    if check.state == CheckState.ESCALATED:
        return messages.ERROR, _("%(person)s: %(outcome)s. Handed to the night patrol.") % {
            "person": name,
            "outcome": Outcome(outcome).label.lower(),
        }
    return messages.INFO, _("%(person)s: %(outcome)s recorded.") % {"person": name, "outcome": Outcome(outcome).label}


def _open_next_due_check(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Round mode: open the first check of the console's list that can be opened now."""
    for row in _operator_checks(request).now_rows:
        if not row.is_openable or row.check.state == CheckState.IN_PROGRESS:
            continue
        try:
            attempt, _token = actions.open_check(row.check, actor=request.user, ip=client_ip(request))
        except ActionRefused:
            continue  # a colleague took it meanwhile, or its window closed: the next one
        return redirect("console:attempt", attempt_id=attempt.id)
    messages.info(request, _("No more checks to open right now."))
    return redirect("console:operator")


# --- Training -------------------------------------------------------------------------------------------


@login_required
def training(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.OPERATOR)
    cameras = Camera.objects.filter(tenant_id__in=tenant_ids, training_only=True, person__isnull=True)
    return render(request, "console/training.html", {"cameras": cameras})


@login_required
@require_POST
def open_training(request: AuthenticatedHttpRequest, camera_id: int) -> HttpResponse:
    camera = get_camera_for_user(request, camera_id, Role.OPERATOR)
    try:
        grant = open_training_view(camera, actor=request.user, ip=client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("console:training")
    return redirect("console:grant-view", gid=grant.gid)


@login_required
def grant_view(request: AuthenticatedHttpRequest, gid: str) -> HttpResponse:
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
    route = gateways.route_for_grant(grant)
    response = render(
        request,
        "console/grant_view.html",
        {
            "grant": grant,
            "token": _token_for_this_browser(request, grant) if usable else None,
            "gateway_url": route.public_url,
            "gateway_id": route.gateway_id,
            "ice_servers": ice_servers_for(grant) if usable else [],
            "live_texts": live_texts(),
            **blur_context(grant),
        },
    )
    return with_gateway_csp(response, route)


# --- Night patrol ---------------------------------------------------------------------------------------


@login_required
def patrol(request: HttpRequest) -> HttpResponse:
    # console.patrol is imported here, not at the head of the module, only while the
    # rest of this module is being rewritten; move it up at the next edit there.
    tenant_ids = require_role(request.user, Role.PATROL, Role.SHIFT_LEAD)
    escalations = patrol_list.escalations_for_patrol(tenant_ids)
    template = "console/_patrol_rows.html" if request.headers.get("HX-Request") else "console/patrol.html"
    context = {"escalations": escalations, "resolve_form": ResolveEscalationForm()}
    if template == "console/patrol.html":
        # Only a patrol's phone is alerted; a shift lead reading the list is not.
        context["is_patrol"] = Role.PATROL in roles_for(request.user)
        context["push_key"] = application_server_key() if context["is_patrol"] else ""
    return render(request, template, context)


@login_required
@require_POST
def acknowledge_escalation(request: AuthenticatedHttpRequest, escalation_id: int) -> HttpResponse:
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
def resolve_escalation(request: AuthenticatedHttpRequest, escalation_id: int) -> HttpResponse:
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
def acknowledge_alarm(request: AuthenticatedHttpRequest, alarm_id: int) -> HttpResponse:
    alarm = get_alarm_for_lead(request, alarm_id)
    actions.acknowledge_alarm(alarm, actor=request.user)
    return redirect("console:lead")
