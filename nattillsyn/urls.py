from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from accounts import second_factor_views, session_views, webauthn_views
from accounts.forms import ThrottledAuthenticationForm
from cameras import internal_views
from console.views import home
from monitoring.views import metrics
from nattillsyn.health import health
from sso import views as sso_views


def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers ask for /favicon.ico where a page names no icon (a JSON or PDF view).
    return redirect(static("nattillsyn/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("", home, name="home"),
    path("health", health, name="health"),
    path("metrics", metrics, name="metrics"),
    path(
        "login/",
        sso_views.LoginView.as_view(template_name="login.html", authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("mfa/", second_factor_views.verify, name="second-factor"),
    path("mfa/setup/", second_factor_views.setup, name="second-factor-setup"),
    path("mfa/keys/", webauthn_views.keys, name="security-keys"),
    path("mfa/keys/options", webauthn_views.registration_options, name="security-key-options"),
    path("mfa/keys/register", webauthn_views.register, name="security-key-register"),
    path("mfa/keys/<int:key_id>/remove", webauthn_views.remove, name="security-key-remove"),
    path("mfa/key/options", webauthn_views.authentication_options, name="security-key-login-options"),
    path("mfa/key/verify", webauthn_views.authenticate, name="security-key-verify"),
    path("logout/", sso_views.LogoutView.as_view(), name="logout"),
    path("sessions/end-all", session_views.end_my_sessions, name="end-my-sessions"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("console/", include("console.urls")),
    path("people/", include("people.urls")),
    path("cameras/", include("cameras.urls")),
    path("audit/", include("audit.urls")),
    path("municipalities/", include("accounts.urls")),
    path("reports/", include("reports.urls")),
    path("letters/", include("letters.urls")),
    path("sso/", include("sso.urls")),
    path("internal/gateway/redeem", internal_views.redeem, name="gateway-redeem"),
    path("internal/gateway/events", internal_views.events, name="gateway-events"),
    path("internal/gateway/revoked", internal_views.revoked, name="gateway-revoked"),
    path("admin/", admin.site.urls),
]
