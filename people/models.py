from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from people.personnummer import display, is_coordination_number
from people.validity import Span, co_resident_consent_span, consent_span, decision_span


class Person(models.Model):
    """Someone granted night supervision."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="persons")
    name = models.CharField(_("name"), max_length=200)
    personnummer = models.CharField(_("personal identity number"), max_length=12)
    unit = models.CharField(_("unit"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    relative_name = models.CharField(_("relative"), max_length=200, blank=True)
    relative_phone = models.CharField(_("relative's phone"), max_length=40, blank=True)
    entry_notes = models.TextField(
        _("key and entry notes"), blank=True, help_text=_("For the night patrol: key box, door code, pets …")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "personnummer"], name="unique_person_per_tenant")]

    def __str__(self) -> str:
        return self.name

    @property
    def personnummer_display(self) -> str:
        return display(self.personnummer)

    @property
    def has_coordination_number(self) -> bool:
        return is_coordination_number(self.personnummer)


class Decision(models.Model):
    """The decision granting night supervision: a biståndsbeslut under the Social Services
    Act, socialtjänstlagen (2025:400) from 1 July 2025 (before: SoL (2001:453) 4 kap. 1 §).
    Documented after SOSFS 2014:5, not as health care (docs/PRIVACY.md)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="decisions")
    decided_on = models.DateField(_("decided on"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    review_on = models.DateField(_("review on"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-valid_from"]

    def covers(self, moment: datetime) -> bool:
        return self.valid_span().holds(moment)

    def valid_span(self) -> Span:
        return decision_span(self.valid_from, self.valid_to)


class ConsentMethod(models.TextChoices):
    ORAL = "oral", _("Oral")
    WRITTEN = "written", _("Written")


class Consent(models.Model):
    """Consent to camera supervision. With ``valid_until`` it is a trial period (prova på)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    given_by = models.CharField(_("given by"), max_length=200, help_text=_("The person, or their representative."))
    method = models.CharField(_("how"), max_length=10, choices=ConsentMethod.choices)
    given_at = models.DateTimeField(_("given at"))
    valid_until = models.DateField(_("trial period ends"), null=True, blank=True)
    # The person accepts the camera on condition that the picture is blurred: the gateway
    # blurs every view (docs/PRIVACY.md), and the operator may switch to the clear picture
    # only with a reason, which is audited and shown in the person's letter.
    blurred = models.BooleanField(
        _("blurred picture by default"),
        default=False,
        help_text=_("The operator sees a blurred picture and can switch to a clear one only with a stated reason."),
    )
    documented_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-given_at"]

    def is_valid_at(self, moment: datetime) -> bool:
        return self.valid_span().holds(moment)

    def valid_span(self) -> Span:
        return consent_span(self.given_at, self.withdrawn_at, self.valid_until)


class AbsenceKind(models.TextChoices):
    SKIP_NIGHT = "skip_night", _("Skip tonight")
    HOSPITAL = "hospital", _("Hospital stay")
    OTHER = "other", _("Other absence")


class Absence(models.Model):
    """A stretch of time when nobody is home, so no check is made and nobody is sent."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="absences")
    kind = models.CharField(_("kind"), max_length=20, choices=AbsenceKind.choices)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("to"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-starts_at"]


class CoResident(models.Model):
    """Someone who lives in the person's home. The camera looks into their home too, so
    camera checks need their consent as well as the person's (prop. 2022/23:131)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="co_residents")
    name = models.CharField(_("name"), max_length=200)
    # Empty: the co-resident has no Swedish personal identity number (a visitor staying
    # long, a foreign citizen); the name identifies them then.
    personnummer = models.CharField(_("personal identity number"), max_length=12, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def personnummer_display(self) -> str:
        return display(self.personnummer) if self.personnummer else ""


class CoResidentConsent(models.Model):
    """A co-resident's consent to the camera; no trial period: it stands until withdrawn."""

    co_resident = models.ForeignKey(CoResident, on_delete=models.CASCADE, related_name="consents")
    method = models.CharField(_("how"), max_length=10, choices=ConsentMethod.choices)
    given_at = models.DateTimeField(_("given at"))
    documented_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-given_at"]

    def is_valid_at(self, moment: datetime) -> bool:
        return self.valid_span().holds(moment)

    def valid_span(self) -> Span:
        return co_resident_consent_span(self.given_at, self.withdrawn_at)
