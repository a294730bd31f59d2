from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from accounts.access import RefusalReason
from accounts.models import Role
from accounts.second_factor import locked_until
from audit.refusals import audit_refusal
from nattillsyn import clock
from nattillsyn.net import client_ip


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False
    )


class NewUserForm(RolesForm):
    username = forms.RegexField(
        label=_("User name"),
        regex=r"^[\w.@+-]{3,150}$",
        error_messages={"invalid": _("Use 3–150 letters, digits and . @ + - _")},
    )
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput)

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        validate_password(password)
        return password

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("roles"):
            self.add_error("roles", _("Give the user at least one role."))
        return data


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing a locked user name before checking the password."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        until = locked_until(username, clock.now())
        if until is not None:
            # Every try on a locked name is a refusal the log must show (folded when repeated).
            audit_refusal(
                actor=None,
                ip=client_ip(self.request) if self.request is not None else None,
                kind="Login",
                object_id=username[:64],
                reason=RefusalReason.LOCKED_OUT,
                detail={"username": username[:150], "until": until.isoformat()},
            )
            minutes = max(1, int((until - clock.now()).total_seconds() // 60) + 1)
            raise forms.ValidationError(
                _("Too many failed attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes},
                code="locked",
            )
        return super().clean()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )
