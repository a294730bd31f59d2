"""The reports' filters and the benefit parameters form.

Filters arrive as GET parameters and are always validated by a form: a bad date, a
month out of range or a person outside the user's municipalities is a form error on
the page, never an exception.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant
from nattillsyn import clock
from people.models import Person
from reports.models import BenefitParameters

EARLIEST = date(2000, 1, 1)
MAX_PERIOD_NIGHTS = 366
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{1,2})$")


def _today() -> date:
    return clock.today()


class TenantForm(forms.Form):
    tenant = forms.ModelChoiceField(
        label=_("Municipality"),
        queryset=Tenant.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("Unknown municipality: choose one from the list.")},
    )

    def __init__(self, *args: Any, tenants: QuerySet[Tenant], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tenant_field = self.fields["tenant"]
        assert isinstance(tenant_field, forms.ModelChoiceField)
        tenant_field.queryset = tenants
        self.several_tenants = len(tenants) > 1
        if not self.several_tenants:
            tenant_field.widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.several_tenants and "tenant" in self.errors:
            self.add_error(None, self.errors["tenant"])  # a hidden field shows no error of its own
        return data


class NightForm(TenantForm):
    night = forms.DateField(
        label=_("Night beginning"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )

    def clean_night(self) -> date:
        night: date = self.cleaned_data["night"]
        if not EARLIEST <= night <= _today():
            raise forms.ValidationError(
                _("Choose a night between %(first)s and today."), params={"first": EARLIEST.isoformat()}
            )
        return night


class MonthForm(TenantForm):
    month = forms.CharField(label=_("Month"), widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}))

    def clean_month(self) -> date:
        match = MONTH_PATTERN.match(self.cleaned_data["month"].strip())
        if match is None:
            raise forms.ValidationError(_("Enter a month as YYYY-MM, for example 2026-11."))
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise forms.ValidationError(_("There is no month %(month)s: use 01–12."), params={"month": month})
        chosen = date(year, month, 1)
        if not EARLIEST <= chosen <= _today():
            raise forms.ValidationError(
                _("Choose a month between %(first)s and this month."), params={"first": EARLIEST.strftime("%Y-%m")}
            )
        return chosen


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label=_("First night"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )
    date_to = forms.DateField(
        label=_("Last night"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and first < EARLIEST:
            self.add_error("date_from", _("Choose a night from %(first)s on.") % {"first": EARLIEST.isoformat()})
        if first and last:
            if last < first:
                self.add_error("date_to", _("The period must end after it starts."))
            elif (last - first).days >= MAX_PERIOD_NIGHTS:
                self.add_error("date_to", _("Choose at most %(nights)s nights.") % {"nights": MAX_PERIOD_NIGHTS})
        return data

    @staticmethod
    def default_period() -> dict[str, str]:
        last = _today() - timedelta(days=1)
        return {"date_from": (last - timedelta(days=29)).isoformat(), "date_to": last.isoformat()}


class PersonPickForm(PeriodForm):
    person = forms.ModelChoiceField(
        label=_("Person"),
        queryset=Person.objects.none(),
        error_messages={"invalid_choice": _("Unknown person: choose one from the list.")},
    )

    field_order = ["person", "date_from", "date_to"]

    def __init__(self, *args: Any, tenant_ids: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        person_field = self.fields["person"]
        assert isinstance(person_field, forms.ModelChoiceField)
        person_field.queryset = Person.objects.filter(tenant_id__in=tenant_ids).order_by("name")


class BenefitParametersForm(forms.ModelForm):
    class Meta:
        model = BenefitParameters
        fields = list(BenefitParameters.FIELDS)
