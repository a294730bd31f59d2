"""The second step of logging in: enrol an authenticator app once, then a code each login."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from accounts.forms import CodeForm
from accounts.second_factor import (
    SESSION_KEY,
    device_for,
    provisioning_uri,
    register_failure,
    secret_of,
    start_enrolment,
    verify_code,
)
from accounts.webauthn import keys_of
from nattillsyn import clock
from nattillsyn.net import client_ip

MAX_CODE_FAILURES = 5


def next_url(request: HttpRequest) -> str:
    """Where to go after logging in: ``next`` if it stays on this site, else home."""
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def complete_login(request: HttpRequest) -> None:
    """The second factor is verified (a code or a security key): the login is complete."""
    request.session.cycle_key()  # a new session id once fully logged in
    request.session[SESSION_KEY] = clock.now().timestamp()
    request.session.pop("second_factor_failures", None)


def _check_code(request: HttpRequest, form: CodeForm, device: object) -> HttpResponse | None:
    """Accept the code and finish the login, or count the failure."""
    if verify_code(device, form.cleaned_data["code"], ip=client_ip(request)):  # type: ignore[arg-type]
        complete_login(request)
        return redirect(next_url(request))
    failures = request.session.get("second_factor_failures", 0) + 1
    request.session["second_factor_failures"] = failures
    if failures >= MAX_CODE_FAILURES:
        register_failure(request.user.get_username(), ip=client_ip(request))
        logout(request)
        messages.error(request, _("Too many wrong codes. Log in again."))
        return redirect(settings.LOGIN_URL)
    form.add_error("code", _("The code is wrong or already used. Wait for the next code and try again."))
    return None


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    device = device_for(request.user)
    if device is None or device.confirmed_at is None:
        return redirect(f"/mfa/setup/?next={next_url(request)}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _check_code(request, form, device)
        if done is not None:
            return done
    has_key = keys_of(request.user).exists()
    return render(request, "accounts/second_factor.html", {"form": form, "next": next_url(request), "has_key": has_key})


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    device = start_enrolment(request.user)
    if device.confirmed_at is not None:
        return redirect(f"/mfa/?next={next_url(request)}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _check_code(request, form, device)
        if done is not None:
            return done
    uri = provisioning_uri(device)
    return render(
        request,
        "accounts/second_factor_setup.html",
        {
            "form": form,
            "next": next_url(request),
            "secret": secret_of(device),
            "qr_svg": segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff"),
        },
    )
