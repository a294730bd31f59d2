from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import second_factor_views
from accounts.forms import ThrottledAuthenticationForm
from cameras import internal_views
from console.views import home
from nattillsyn.health import health

urlpatterns = [
    path("", home, name="home"),
    path("health", health, name="health"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="login.html", authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("mfa/", second_factor_views.verify, name="second-factor"),
    path("mfa/setup/", second_factor_views.setup, name="second-factor-setup"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("console/", include("console.urls")),
    path("people/", include("people.urls")),
    path("cameras/", include("cameras.urls")),
    path("audit/", include("audit.urls")),
    path("municipalities/", include("accounts.urls")),
    path("reports/", include("reports.urls")),
    path("internal/gateway/redeem", internal_views.redeem, name="gateway-redeem"),
    path("internal/gateway/events", internal_views.events, name="gateway-events"),
    path("internal/gateway/revoked", internal_views.revoked, name="gateway-revoked"),
    path("admin/", admin.site.urls),
]
