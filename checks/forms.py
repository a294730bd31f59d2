from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from checks.models import CheckForm, ConcernOutcome, EscalationKind

TIME_ROWS = 6


class AgreementForm(forms.Form):
    """The agreed times (any number per night), retry delay and escalation plan."""

    retry_delay_min = forms.IntegerField(label=_("Retry after (minutes)"), min_value=5, max_value=60, initial=15)
    notes = forms.CharField(label=_("Notes for the operator"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    step_1 = forms.ChoiceField(
        label=_("Escalation, first"), choices=EscalationKind.choices, initial=EscalationKind.VISIT
    )
    step_2 = forms.ChoiceField(
        label=_("Escalation, then"), choices=[("", "—"), *EscalationKind.choices], required=False
    )
    step_3 = forms.ChoiceField(
        label=_("Escalation, last"), choices=[("", "—"), *EscalationKind.choices], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in range(TIME_ROWS):
            self.fields[f"time_{row}"] = forms.TimeField(
                label=_("Time"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
            )
            self.fields[f"form_{row}"] = forms.ChoiceField(
                label=_("Form"), choices=CheckForm.choices, initial=CheckForm.CAMERA
            )

    def time_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"time_{row}"], self[f"form_{row}"]) for row in range(TIME_ROWS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        times = [
            (data[f"time_{row}"], data.get(f"form_{row}") or CheckForm.CAMERA)
            for row in range(TIME_ROWS)
            if data.get(f"time_{row}") is not None
        ]
        if not times:
            raise forms.ValidationError(_("Agree on at least one check time."))
        if len({agreed for agreed, _form in times}) != len(times):
            raise forms.ValidationError(_("The same time is given twice."))
        data["times"] = times
        steps = [data[name] for name in ("step_1", "step_2", "step_3") if data.get(name)]
        if len(set(steps)) != len(steps):
            raise forms.ValidationError(_("Each escalation step can be given only once."))
        data["escalation_steps"] = steps
        return data


class ResolveEscalationForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=[])
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from checks.models import PATROL_RESULTS

        super().__init__(*args, **kwargs)
        result_field = self.fields["result"]
        assert isinstance(result_field, forms.ChoiceField)
        result_field.choices = PATROL_RESULTS


class CameraConcernOutcomeForm(forms.Form):
    """What the case officer's talk with the person about the covered camera gave."""

    outcome = forms.ChoiceField(
        label=_("What the person said"), choices=ConcernOutcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
