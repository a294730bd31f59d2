"""The installation's administrator sets up identity providers; every change is audited."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sso import actions
from sso.models import ClaimMapping, IdentityProvider


class ClaimMappingInline(admin.TabularInline):
    model = ClaimMapping
    extra = 1


class IdentityProviderForm(forms.ModelForm):
    client_secret = forms.CharField(
        label=_("client secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the current one."),
    )

    class Meta:
        model = IdentityProvider
        exclude = ["client_secret_encrypted"]

        @staticmethod
        def formfield_callback(db_field: Any, **kwargs: Any) -> Any:
            if db_field.name == "issuer":
                kwargs["assume_scheme"] = "https"
            return db_field.formfield(**kwargs)


@admin.register(IdentityProvider)
class IdentityProviderAdmin(admin.ModelAdmin):
    form = IdentityProviderForm
    list_display = ["name", "slug", "issuer", "enabled"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ClaimMappingInline]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "issuer":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: IdentityProvider, form: Any, change: bool) -> None:
        actions.save_provider(
            obj, actor=cast(User, request.user), client_secret=form.cleaned_data.get("client_secret") or None
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if any(formset.has_changed() for formset in formsets):
            actions.record_mapping_change(form.instance, actor=cast(User, request.user))
