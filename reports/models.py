from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def _amount(label: Any, default: str, *, maximum: str, places: int = 2, help_text: Any = "") -> models.DecimalField:
    return models.DecimalField(
        label,
        max_digits=10,
        decimal_places=places,
        default=Decimal(default),
        help_text=help_text,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(maximum))],
    )


class BenefitParameters(models.Model):
    """A municipality's own figures for the benefit calculation (after Inera's simplified
    calculation for digital night supervision). One row per tenant; until an administrator
    saves it, the defaults below are used. They are placeholders to replace, not facts."""

    tenant = models.OneToOneField("accounts.Tenant", on_delete=models.CASCADE, related_name="benefit_parameters")
    minutes_per_visit = _amount(_("minutes per physical visit, travel included"), "20", maximum="600", places=1)
    km_per_visit = _amount(_("km driven per physical visit"), "6", maximum="500", places=1)
    cost_per_staff_hour = _amount(_("staff cost per hour (SEK, social costs included)"), "420", maximum="10000")
    cost_per_km = _amount(_("vehicle cost per km (SEK)"), "3.50", maximum="1000")
    co2_kg_per_km = _amount(_("CO2 per km (kg)"), "0.120", maximum="10", places=3)
    camera_cost_per_month = _amount(
        _("camera cost per person and month (SEK)"),
        "350",
        maximum="100000",
        help_text=_("Camera, connection, licence and installation spread over the months of use."),
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    FIELDS = (
        "minutes_per_visit",
        "km_per_visit",
        "cost_per_staff_hour",
        "cost_per_km",
        "co2_kg_per_km",
        "camera_cost_per_month",
    )

    def __str__(self) -> str:
        return f"{self.tenant_id}: benefit parameters"


class NightTally(models.Model):
    """One settled night of one municipality, counted once for the monthly report.

    A night is settled when every check of it has ended and a day has passed: ended
    checks and their attempts no longer change (checks.actions only moves open checks),
    so the expensive per-unit counts (on time needs every attempt) are kept here instead
    of being counted again at every render. reports/tally.py writes and checks them.
    """

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    night = models.DateField()
    unit = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=20)
    form = models.CharField(max_length=10)
    end_reason = models.CharField(max_length=300, blank=True)
    checks = models.PositiveIntegerField()
    retried = models.PositiveIntegerField()
    faulty = models.PositiveIntegerField()
    on_time = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "night"])]


class NightViewTally(models.Model):
    """The camera views of a settled night's checks per unit (see NightTally)."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    night = models.DateField()
    unit = models.CharField(max_length=100, blank=True)
    views = models.PositiveIntegerField()
    view_time = models.DurationField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "night"])]
