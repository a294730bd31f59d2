"""Installer pages for ONVIF cameras: find one on the local network, add it by its
address, pick or make its two presets, run the installation check."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import require_role, tenants_for
from accounts.models import Role
from cameras import onvif_actions
from cameras.access import get_camera_for_user
from cameras.forms import CameraForm
from cameras.models import Camera, CameraDriverKind
from cameras.onvif_discovery import discover
from people.actions import ActionRefused
from people.models import Person

DISCOVERY_TIMEOUT_S = 2.0


class OnvifCameraForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    address = forms.CharField(
        label=gettext_lazy("ONVIF address"),
        max_length=200,
        help_text=gettext_lazy("The camera's IP address or host name, with :port if not 80."),
    )
    username = forms.CharField(label=gettext_lazy("User name"), max_length=100)
    password = forms.CharField(
        label=gettext_lazy("Password"),
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("Stored encrypted."),
    )
    person = forms.ModelChoiceField(label=gettext_lazy("Person"), queryset=Person.objects.none(), required=False)
    placement_note = forms.CharField(label=gettext_lazy("Placement"), max_length=300, required=False)

    def __init__(self, *args: Any, tenant: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        person_field = self.fields["person"]
        assert isinstance(person_field, forms.ModelChoiceField)
        person_field.queryset = Person.objects.filter(tenant=tenant)
        person_field.error_messages["invalid_choice"] = _("Unknown person: choose one from the list.")

    # The same rules as for any camera: a unique name, one camera per person.
    clean_name = CameraForm.clean_name
    clean_person = CameraForm.clean_person
    instance = Camera()


@login_required
def add_camera(request: HttpRequest) -> HttpResponse:
    tenant_ids = require_role(request.user, Role.INSTALLER)
    tenants = tenants_for(request.user, Role.INSTALLER)
    tenant = tenants.filter(id=request.POST.get("tenant") or 0).first() or tenants.get(id=min(tenant_ids))
    initial = {"address": request.GET.get("address", "")}
    form = OnvifCameraForm(request.POST or None, tenant=tenant, initial=initial)
    found = None
    if request.method == "GET" and request.GET.get("discover"):
        found = discover(DISCOVERY_TIMEOUT_S)
    if request.method == "POST" and form.is_valid():
        try:
            camera = onvif_actions.add_onvif_camera(actor=request.user, tenant=tenant, **form.cleaned_data)
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("The camera is added. Choose its view and privacy presets."))
            return redirect("cameras:onvif-presets", camera_id=camera.id)
    return render(
        request, "cameras/onvif_add.html", {"form": form, "tenants": tenants, "tenant": tenant, "found": found}
    )


def _onvif_camera(request: HttpRequest, camera_id: int) -> Camera:
    camera = get_camera_for_user(request, camera_id, Role.INSTALLER)
    if camera.driver != CameraDriverKind.ONVIF_PTZ:
        raise ActionRefused(_("This is not an ONVIF pan/tilt camera."))
    return camera


@login_required
def presets(request: HttpRequest, camera_id: int) -> HttpResponse:
    try:
        camera = _onvif_camera(request, camera_id)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("cameras:detail", camera_id=camera_id)
    if request.method == "POST":
        try:
            if request.POST.get("create") in ("view", "privacy"):
                kind = request.POST["create"]
                token = onvif_actions.create_preset_here(camera, actor=request.user, kind=kind)
                messages.success(request, _("Preset %(token)s saved where the camera points now.") % {"token": token})
            else:
                onvif_actions.choose_presets(
                    camera,
                    actor=request.user,
                    view_preset=request.POST.get("view_preset", ""),
                    privacy_preset=request.POST.get("privacy_preset", ""),
                )
                messages.success(request, _("The presets are saved. Run the installation check."))
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
        return redirect("cameras:onvif-presets", camera_id=camera.id)
    device_presets: list[Any] = []
    problem = ""
    try:
        device_presets = onvif_actions.camera_presets(camera)
    except ActionRefused as refusal:
        problem = str(refusal)
    return render(
        request,
        "cameras/onvif_presets.html",
        {"camera": camera, "presets": device_presets, "problem": problem, "check": None},
    )


@login_required
@require_POST
def installation_check(request: HttpRequest, camera_id: int) -> HttpResponse:
    try:
        camera = _onvif_camera(request, camera_id)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("cameras:detail", camera_id=camera_id)
    if not camera.view_preset or not camera.privacy_preset:
        messages.error(request, _("Choose the view and privacy presets first."))
        return redirect("cameras:onvif-presets", camera_id=camera.id)
    check = onvif_actions.run_installation_check(camera, actor=request.user)
    camera.refresh_from_db()
    return render(
        request,
        "cameras/onvif_presets.html",
        {"camera": camera, "presets": [], "problem": "", "check": check},
    )
