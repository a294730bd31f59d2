from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from django import forms
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from cameras.models import Camera, CameraDriverKind, InstallationBooking, InstallationKind
from people.forms import DATETIME_INPUT
from people.models import ConsentMethod, Person


class CameraForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the current password."),
    )

    class Meta:
        model = Camera
        fields = [
            "name",
            "model",
            "driver",
            "stream_url",
            "sub_stream_url",
            "username",
            "password",
            "placement_note",
            "site",
            "person",
        ]

    def __init__(self, *args: Any, tenant: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        person_field = self.fields["person"]
        assert isinstance(person_field, forms.ModelChoiceField)
        person_field.queryset = Person.objects.filter(tenant=tenant)
        person_field.required = False
        person_field.error_messages["invalid_choice"] = _("Unknown person: choose one from the list.")
        if self.instance.driver != CameraDriverKind.ONVIF_PTZ:
            # An ONVIF camera is added from what the device answers (cameras/onvif_views.py).
            driver_field = self.fields["driver"]
            assert isinstance(driver_field, forms.TypedChoiceField)
            driver_field.choices = [
                (value, label)
                for value, label in cast(list[tuple[str, str]], driver_field.choices)
                if value != CameraDriverKind.ONVIF_PTZ
            ]
        if self.instance.pk is None:
            # A new camera has no password to keep.
            self.fields["password"].help_text = _("Stored encrypted.")

    def clean_stream_url(self) -> str:
        return self._rtsp_address("stream_url")

    def clean_sub_stream_url(self) -> str:
        return self._rtsp_address("sub_stream_url") if self.cleaned_data.get("sub_stream_url", "").strip() else ""

    def _rtsp_address(self, field: str) -> str:
        url = self.cleaned_data[field].strip()
        parts = urlsplit(url)
        if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
            raise forms.ValidationError(_("The stream address must look like rtsp://host:port/path."))
        if parts.username or parts.password:
            # Never echo a typed password back into the page.
            self.data = data = cast(QueryDict, self.data).copy()
            data[self.add_prefix(field)] = url.replace(parts.netloc, parts.netloc.rsplit("@", 1)[-1])
            raise forms.ValidationError(_("Give the user name and password in their own fields, not in the address."))
        return url

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if Camera.objects.filter(tenant=self.tenant, name=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("A camera with this name already exists."))
        return name

    def clean_person(self) -> Person | None:
        person = self.cleaned_data.get("person")
        if person is not None:
            taken = Camera.objects.filter(person=person).exclude(pk=self.instance.pk).first()
            if taken is not None:
                raise forms.ValidationError(_("The person already has a camera: %(name)s.") % {"name": taken.name})
        return person


class InstallationTestForm(forms.Form):
    operator = forms.ModelChoiceField(
        label=_("Tested together with operator"), queryset=get_user_model().objects.none()
    )
    passed = forms.BooleanField(label=_("The operator saw the picture and the test passed"), required=False)
    notes = forms.CharField(label=_("Notes"), max_length=300, required=False)

    def __init__(self, *args: Any, tenant: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        operator_field = self.fields["operator"]
        assert isinstance(operator_field, forms.ModelChoiceField)
        operator_field.queryset = (
            get_user_model().objects.filter(memberships__tenant=tenant, memberships__role=Role.OPERATOR).distinct()
        )
        operator_field.error_messages["invalid_choice"] = _("Unknown operator: choose one from the list.")


class InstallationBookingForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=InstallationKind.choices)
    starts_at = forms.DateTimeField(label=_("Slot starts"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("Slot ends"), widget=DATETIME_INPUT)


class InstallationConsentForm(forms.Form):
    booking = forms.ModelChoiceField(label=_("Booked test"), queryset=InstallationBooking.objects.none())
    given_by = forms.CharField(
        label=_("Consent given by"), max_length=200, help_text=_("The person, or their representative.")
    )
    method = forms.ChoiceField(label=_("How"), choices=ConsentMethod.choices)

    def __init__(self, *args: Any, camera: Camera, now: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        booking_field = self.fields["booking"]
        assert isinstance(booking_field, forms.ModelChoiceField)
        booking_field.queryset = consent_pending(camera, now)
        booking_field.error_messages["invalid_choice"] = _("Unknown booking: choose one from the list.")


def consent_pending(camera: Camera, now: Any) -> Any:
    """The camera's booked tests, not yet over, still waiting for the person's consent."""
    return InstallationBooking.objects.filter(
        camera=camera, person=camera.person, ends_at__gt=now, consent_recorded_at__isnull=True
    )
