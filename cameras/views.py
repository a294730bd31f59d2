"""Installer pages: cameras, assignment, installation test, technical test."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require_role, tenants_for
from accounts.models import Role
from cameras import actions
from cameras.access import get_camera_for_user
from cameras.drivers import driver_for
from cameras.forms import CameraForm, InstallationTestForm
from cameras.models import Camera, problem_label
from nattillsyn.errors import ActionRefused
from nattillsyn.net import client_ip

READERS = (Role.INSTALLER, Role.PLANNER, Role.SHIFT_LEAD, Role.ADMINISTRATOR)
STAFF_WHO_TEST = (Role.INSTALLER, Role.OPERATOR, Role.SHIFT_LEAD, Role.PLANNER)


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
def camera_edit(request: HttpRequest, camera_id: int | None = None) -> HttpResponse:
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
    camera = get_camera_for_user(request, camera_id, *READERS, Role.OPERATOR)
    return render(
        request,
        "cameras/detail.html",
        {
            "camera": camera,
            "tests": camera.installation_tests.select_related("installer", "operator")[:10],
            "supports_privacy": driver_for(camera).supports_privacy,
            "test_form": InstallationTestForm(tenant=camera.tenant),
            "is_installer": camera.tenant_id in tenants_for(request.user, Role.INSTALLER).values_list("id", flat=True),
        },
    )


@login_required
@require_POST
def installation_test(request: HttpRequest, camera_id: int) -> HttpResponse:
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
def installation_view(request: HttpRequest, camera_id: int) -> HttpResponse:
    """The operator looks, with the installer on site and the person's consent given now."""
    camera = get_camera_for_user(request, camera_id, Role.OPERATOR)
    try:
        grant = actions.open_installation_view(
            camera,
            actor=request.user,
            consent_given_by=request.POST.get("consent_given_by", ""),
            ip=client_ip(request),
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("cameras:detail", camera_id=camera.id)
    return redirect("console:grant-view", gid=grant.gid)


@login_required
@require_POST
def technical_test(request: HttpRequest, camera_id: int) -> HttpResponse:
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
