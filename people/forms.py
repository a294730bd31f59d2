from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from nattillsyn import clock
from people.actions import find_overlapping_absence
from people.models import Absence, AbsenceKind, Consent, ConsentMethod, CoResident, Decision, Person
from people.personnummer import InvalidPersonnummer, display, normalize

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

PERSONNUMMER_ERRORS = {
    "format": _("Write the personal identity number as YYYYMMDD-NNNN."),
    "checksum": _("The personal identity number's check digit is wrong. Check the number."),
    "date": _("The personal identity number does not contain a valid date of birth."),
    "age": _("The personal identity number gives an age over 130 years. Check the number and its + or - sign."),
}


class PersonForm(forms.ModelForm):
    # Typed with a dash or century (YYYYMMDD-NNNN), stored as 12 digits.
    personnummer = forms.CharField(
        label=_("Personal identity or coordination number"),
        max_length=20,
        help_text=_("YYYYMMDD-NNNN (in a coordination number the day is plus 60)"),
    )

    class Meta:
        model = Person
        fields = ["name", "personnummer", "unit", "address", "phone", "relative_name", "relative_phone", "entry_notes"]
        widgets = {"entry_notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, tenant: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        if self.instance.pk:
            self.initial["personnummer"] = display(self.instance.personnummer)
            # A person who has one is told by what they have, as on the person's page.
            self.fields["personnummer"].label = (
                _("Coordination number") if self.instance.has_coordination_number else _("Personal identity number")
            )

    def clean_personnummer(self) -> str:
        try:
            number = normalize(self.cleaned_data["personnummer"])
        except InvalidPersonnummer as exc:
            raise forms.ValidationError(PERSONNUMMER_ERRORS[str(exc)]) from exc
        duplicate = Person.objects.filter(tenant=self.tenant, personnummer=number).exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise forms.ValidationError(_("A person with this personal identity number is already registered."))
        return number


class DecisionForm(forms.ModelForm):
    class Meta:
        model = Decision
        fields = ["decided_on", "valid_from", "valid_to", "review_on", "reference"]
        widgets = {"decided_on": DATE_INPUT, "valid_from": DATE_INPUT, "valid_to": DATE_INPUT, "review_on": DATE_INPUT}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("valid_to") and data.get("valid_from") and data["valid_to"] < data["valid_from"]:
            self.add_error("valid_to", _("The decision cannot end before it starts."))
        return data


class ConsentForm(forms.ModelForm):
    class Meta:
        model = Consent
        fields = ["given_by", "method", "given_at", "valid_until", "blurred"]
        widgets = {
            "given_at": DATETIME_INPUT,
            "valid_until": DATE_INPUT,
            "method": forms.RadioSelect(choices=ConsentMethod.choices),
        }

    def clean_given_at(self) -> Any:
        given_at = self.cleaned_data["given_at"]
        if given_at > clock.now():
            raise forms.ValidationError(_("Consent cannot be recorded as given in the future."))
        return given_at


class WithdrawConsentForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class AbsenceForm(forms.ModelForm):
    class Meta:
        model = Absence
        fields = ["kind", "starts_at", "ends_at", "note"]
        widgets = {"starts_at": DATETIME_INPUT, "ends_at": DATETIME_INPUT}

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = AbsenceKind.choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at:
            if ends_at <= starts_at:
                self.add_error("ends_at", _("The absence must end after it starts."))
            elif find_overlapping_absence(self.person, starts_at, ends_at, exclude_id=self.instance.pk):
                self.add_error(None, _("The absence overlaps another absence for this person."))
        return data


class CoResidentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    personnummer = forms.CharField(
        label=_("Personal identity number"), max_length=20, required=False, help_text=_("YYYYMMDD-NNNN")
    )
    no_personnummer = forms.BooleanField(label=_("Has no Swedish personal identity number"), required=False)

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = (data.get("personnummer") or "").strip()
        if data.get("no_personnummer"):
            if raw:
                self.add_error("personnummer", _('Leave the number empty, or untick "no personal identity number".'))
            data["personnummer"] = ""
            return data
        if not raw:
            self.add_error(
                "personnummer",
                _('Write the personal identity number, or tick "no personal identity number".'),
            )
            return data
        try:
            number = normalize(raw)
        except InvalidPersonnummer as exc:
            self.add_error("personnummer", PERSONNUMMER_ERRORS[str(exc)])
            return data
        if number == self.person.personnummer:
            self.add_error("personnummer", _("This is the person's own number, not a co-resident's."))
        elif CoResident.objects.filter(person=self.person, personnummer=number).exists():
            self.add_error("personnummer", _("This co-resident is already registered."))
        data["personnummer"] = number
        return data


class CoResidentConsentForm(forms.Form):
    method = forms.ChoiceField(label=_("How"), choices=ConsentMethod.choices, widget=forms.RadioSelect)
    given_at = forms.DateTimeField(label=_("Given at"), widget=DATETIME_INPUT)

    def clean_given_at(self) -> Any:
        given_at = self.cleaned_data["given_at"]
        if given_at > clock.now():
            raise forms.ValidationError(_("Consent cannot be recorded as given in the future."))
        return given_at


class LetterMonthForm(forms.Form):
    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )

    def clean_month(self) -> Any:
        month = self.cleaned_data["month"].replace(day=1)
        if month > clock.now().astimezone(clock.STOCKHOLM).date():
            raise forms.ValidationError(_("Choose a month that has begun."))
        return month
