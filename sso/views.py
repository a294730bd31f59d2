"""Logging in with the municipality's identity provider: out to it, and back."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.second_factor_views import complete_login, next_url
from nattillsyn.net import client_ip
from sso import actions
from sso.models import IdentityProvider
from sso.oidc import PROVIDER_ERRORS, checked_metadata, client_for, logout_url, verified_claims

NEXT_KEY = "sso_next"
REQUESTED_AT_KEY = "sso_requested_at"
# Kept for the session's life: logging out here logs out at the provider too.
PROVIDER_KEY = "sso_provider"
ID_TOKEN_KEY = "sso_id_token"


class LoginView(auth_views.LoginView):
    """The login page: a password and a second factor, or the municipality's own
    identity provider."""

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        context["identity_providers"] = IdentityProvider.objects.filter(enabled=True).only("slug", "name")
        return context


def _provider(slug: str) -> IdentityProvider:
    return get_object_or_404(IdentityProvider, slug=slug, enabled=True)


def _back_to_login(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect("login")


@never_cache
@require_GET
def start(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _provider(slug)
    client = client_for(provider)
    try:
        checked_metadata(client, provider)
        redirect_uri = request.build_absolute_uri(reverse("sso:callback", args=[provider.slug]))
        extra = {"prompt": "login"} if provider.reauthenticate else {}
        response: HttpResponse = client.authorize_redirect(request, redirect_uri, **extra)
    except PROVIDER_ERRORS:
        return _back_to_login(
            request,
            _("%(provider)s cannot be reached just now. Try again, or log in another way.")
            % {"provider": provider.name},
        )
    request.session[NEXT_KEY] = next_url(request)
    # Wall-clock time, as the provider's auth_time is.
    request.session[REQUESTED_AT_KEY] = time.time()
    return response


@never_cache
@require_GET
def callback(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _provider(slug)
    ip = client_ip(request)
    if request.GET.get("error"):
        actions.refuse_login(provider, "provider_refused", None, ip, error=request.GET["error"][:100])
        return _back_to_login(request, _("%(provider)s did not log you in.") % {"provider": provider.name})
    try:
        claims, id_token = verified_claims(client_for(provider), provider, request)
    except PROVIDER_ERRORS as error:
        actions.refuse_login(provider, "invalid_response", None, ip, error=type(error).__name__)
        return _back_to_login(request, _("The login could not be completed. Start again from the login page."))
    outcome = actions.sign_in(provider, claims, ip=ip, requested_at=request.session.pop(REQUESTED_AT_KEY, None))
    if outcome.refusal:
        return _back_to_login(request, outcome.message)
    target = request.session.pop(NEXT_KEY, "/")
    # Read by the login signal: the audit entry says how the user logged in.
    request.login_detail = {  # type: ignore[attr-defined]
        "method": "oidc",
        "provider": provider.slug,
        "acr": str(claims.get("acr", ""))[:200],
        "amr": [str(method)[:20] for method in claims.get("amr", [])][:10]
        if isinstance(claims.get("amr"), list)
        else [],
        "second_factor": "identity_provider" if outcome.second_factor_proven else "required_here",
    }
    login(request, outcome.user, backend="django.contrib.auth.backends.ModelBackend")
    if outcome.second_factor_proven:
        complete_login(request)
    request.session[PROVIDER_KEY] = provider.slug
    request.session[ID_TOKEN_KEY] = id_token
    return redirect(target)


class LogoutView(auth_views.LogoutView):
    """Log out here (audited), and for a user who came through an identity provider, at
    the provider too (OpenID Connect RP-Initiated Logout): on a shared computer the next
    person must not find the previous user still logged in there."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        slug, id_token = request.session.get(PROVIDER_KEY), request.session.get(ID_TOKEN_KEY)
        response: HttpResponse = super().post(request, *args, **kwargs)
        provider = IdentityProvider.objects.filter(slug=slug, enabled=True).first() if slug else None
        if provider is not None and id_token:
            url = logout_url(provider, id_token, request.build_absolute_uri(reverse("login")))
            if url is not None:
                # A page that goes on to the provider, not a redirect: the logout is a form
                # post, and the CSP's form-action lets forms lead only to this site.
                return render(request, "sso/logged_out.html", {"provider": provider, "end_session_url": url})
        return response
