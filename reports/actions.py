"""Every change the reports app makes: only the benefit parameters are ever written."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models, transaction

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from reports.models import BenefitParameters

if TYPE_CHECKING:
    from django.contrib.auth.models import User

BENEFIT_PARAMETERS_CHANGED = AuditAction.BENEFIT_PARAMETERS_CHANGED


def benefit_parameters_for(tenant: Tenant) -> BenefitParameters:
    """The saved parameters, or the (unsaved) defaults until an administrator saves them."""
    return BenefitParameters.objects.filter(tenant=tenant).first() or BenefitParameters(tenant=tenant)


@transaction.atomic
def save_benefit_parameters(tenant: Tenant, *, actor: User | None, **values: Decimal) -> BenefitParameters:
    unknown = set(values) - set(BenefitParameters.FIELDS)
    if unknown:
        raise ValueError(f"unknown benefit parameters: {sorted(unknown)}")
    parameters, _created = BenefitParameters.objects.select_for_update().get_or_create(tenant=tenant)
    changes = {}
    for name, value in values.items():
        field = BenefitParameters._meta.get_field(name)
        assert isinstance(field, models.DecimalField)
        places = Decimal(1).scaleb(-field.decimal_places)
        old, new = Decimal(getattr(parameters, name)).quantize(places), Decimal(value).quantize(places)
        if old != new:
            changes[name] = [str(old), str(new)]
        setattr(parameters, name, new)
    parameters.updated_at = clock.now()
    parameters.updated_by = actor
    parameters.save()
    record(actor=actor, action=BENEFIT_PARAMETERS_CHANGED, tenant=tenant, obj=parameters, detail={"changes": changes})
    return parameters
