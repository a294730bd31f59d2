"""Installer pages: cameras, assignment, installation test, technical test."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require_role, tenant_ids_for, tenants_for
from accounts.models import Role
from accounts.types import AuthenticatedHttpRequest
from cameras import actions
from cameras.access import get_camera_for_user
from cameras.drivers import driver_for
from cameras.forms import (
    CameraForm,
    InstallationBookingForm,
    InstallationConsentForm,
    InstallationTestForm,
    consent_pending,
)
from cameras.models import Camera, problem_label
from nattillsyn import clock
from nattillsyn.errors import ActionRefused
from nattillsyn.net import client_ip

READERS = (Role.INSTALLER, Role.PLANNER, Role.SHIFT_LEAD, Role.ADMINISTRATOR)
STAFF_WHO_TEST = (Role.INSTALLER, Role.OPERATOR, Role.SHIFT_LEAD, Role.PLANNER)
# The case officer records the person's consent to an installation test on the camera's page.
DETAIL_READERS = (*READERS, Role.OPERATOR, Role.CASE_OFFICER)
BOOKERS = (Role.INSTALLER, Role.PLANNER)
CONSENT_RECORDERS = (Role.PLANNER, Role.CASE_OFFICER)


@login_required
def camera_list(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, *READERS, Role.OPERATOR)
    cameras = Camera.objects.filter(tenant_id__in=tenant_ids).select_related("person", "tenant")
    return render(
        request,
        "cameras/list.html",
        {
            "cameras": cameras,
            "can_edit": bool(tenants_for(request.user, Role.INSTALLER)),
        },
    )


@login_required
def camera_edit(request: AuthenticatedHttpRequest, camera_id: int | None = None) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.INSTALLER)
    camera = get_camera_for_user(request, camera_id, Role.INSTALLER) if camera_id else None
    tenants = tenants_for(request.user, Role.INSTALLER)
    tenant = (
        camera.tenant
        if camera
        else (tenants.filter(id=request.POST.get("tenant")).first() or tenants.get(id=min(tenant_ids)))
    )
    form = CameraForm(request.POST or None, instance=camera, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields if name != "password"}
        try:
            saved = actions.save_camera(
                camera, actor=request.user, tenant=tenant, password=form.cleaned_data["password"] or None, **fields
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("The camera is saved."))
            return redirect("cameras:detail", camera_id=saved.id)
    return render(
        request, "cameras/camera_form.html", {"form": form, "camera": camera, "tenants": tenants, "tenant": tenant}
    )


@login_required
def camera_detail(request: HttpRequest, camera_id: int) -> HttpResponse:
    camera = get_camera_for_user(request, camera_id, *DETAIL_READERS)
    return _detail_page(request, camera)


def _detail_page(
    request: HttpRequest,
    camera: Camera,
    *,
    booking_form: InstallationBookingForm | None = None,
    consent_form: InstallationConsentForm | None = None,
) -> HttpResponse:
    """The camera's page; a refused booking or consent form comes back with what was typed."""
    now = clock.now()

    def has_role(*roles: str) -> bool:
        return camera.tenant_id in tenant_ids_for(request.user, *roles)

    bookings = camera.installation_bookings.filter(person=camera.person, ends_at__gt=now).select_related(
        "booked_by", "consent_recorded_by"
    )
    open_slot = next((b for b in bookings if b.starts_at <= now and b.consent_recorded_at is not None), None)
    return render(
        request,
        "cameras/detail.html",
        {
            "camera": camera,
            "tests": camera.installation_tests.select_related("installer", "operator")[:10],
            "supports_privacy": driver_for(camera).supports_privacy,
            "test_form": InstallationTestForm(tenant=camera.tenant),
            "is_installer": has_role(Role.INSTALLER),
            "can_test": has_role(*STAFF_WHO_TEST),
            "bookings": bookings,
            "open_slot": open_slot,
            "can_book": has_role(*BOOKERS) and camera.person_id is not None,
            "booking_form": booking_form or InstallationBookingForm(),
            "can_record_consent": has_role(*CONSENT_RECORDERS) and consent_pending(camera, now).exists(),
            "consent_form": consent_form or InstallationConsentForm(camera=camera, now=now),
        },
    )


@login_required
@require_POST
def book_installation(request: AuthenticatedHttpRequest, camera_id: int) -> HttpResponse:
    """The installer or planner books the slot of a test with picture."""
    camera = get_camera_for_user(request, camera_id, *BOOKERS)
    form = InstallationBookingForm(request.POST)
    if form.is_valid():
        try:
            actions.book_installation(camera, actor=request.user, **form.cleaned_data)
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("The installation test is booked."))
            return redirect("cameras:detail", camera_id=camera.id)
    return _detail_page(request, camera, booking_form=form)


@login_required
@require_POST
def installation_consent(request: AuthenticatedHttpRequest, camera_id: int) -> HttpResponse:
    """The planner or case officer records the person's consent to a booked test, beforehand."""
    camera = get_camera_for_user(request, camera_id, *CONSENT_RECORDERS)
    form = InstallationConsentForm(request.POST, camera=camera, now=clock.now())
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.record_installation_consent(
                data["booking"], actor=request.user, given_by=data["given_by"], method=data["method"]
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("The consent to the installation test is recorded."))
            return redirect("cameras:detail", camera_id=camera.id)
    return _detail_page(request, camera, consent_form=form)


@login_required
@require_POST
def installation_test(request: AuthenticatedHttpRequest, camera_id: int) -> HttpResponse:
    camera = get_camera_for_user(request, camera_id, Role.INSTALLER)
    form = InstallationTestForm(request.POST, tenant=camera.tenant)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("cameras:detail", camera_id=camera.id)
    try:
        actions.record_installation_test(camera, actor=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The installation test is recorded."))
    return redirect("cameras:detail", camera_id=camera.id)


@login_required
@require_POST
def installation_view(request: AuthenticatedHttpRequest, camera_id: int) -> HttpResponse:
    """The operator looks, inside the booked slot, with the person's consent recorded beforehand."""
    camera = get_camera_for_user(request, camera_id, Role.OPERATOR)
    try:
        grant = actions.open_installation_view(camera, actor=request.user, ip=client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("cameras:detail", camera_id=camera.id)
    return redirect("console:grant-view", gid=grant.gid)


@login_required
@require_POST
def technical_test(request: AuthenticatedHttpRequest, camera_id: int) -> HttpResponse:
    """Stream reachable, picture neither black nor frozen, privacy position: no picture shown."""
    camera = get_camera_for_user(request, camera_id, *STAFF_WHO_TEST)
    result = actions.run_technical_test(camera, actor=request.user)
    if result.ok:
        messages.success(
            request, _("Technical test passed: the stream works and the camera is in its privacy position.")
        )
    else:
        messages.error(request, _("Technical test failed: %(problem)s") % {"problem": problem_label(result.problem)})
    return redirect("cameras:detail", camera_id=camera.id)
