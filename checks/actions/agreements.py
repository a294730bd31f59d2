"""Agreements: the times, the form and the escalation plan agreed with a person."""

from __future__ import annotations

from datetime import time, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.records import record
from checks.actions.transitions import end_check
from checks.models import AgreedTime, Agreement, Check, CheckForm, CheckState, EscalationKind, EscalationStep
from checks.nights import spring_forward_refusal
from nattillsyn import clock
from nattillsyn.errors import ActionRefused
from people.models import Person
from people.validity import decisions_not_ended_at

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def save_agreement(
    person: Person,
    *,
    actor: User | None,
    retry_delay_min: int,
    notes: str,
    times: list[tuple[time, str]],
    escalation_steps: list[str],
) -> Agreement:
    now = clock.now()
    if not times:
        raise ActionRefused(_("Agree on at least one check time."))
    if len({agreed for agreed, _form in times}) != len(times):
        raise ActionRefused(_("The same time is given twice."))
    collision = spring_forward_refusal([agreed for agreed, _form in times], clock.day_of(now))
    if collision is not None:
        raise ActionRefused(
            _(
                "On %(day)s the clocks go forward and the hour 02:00–03:00 does not exist. There is no free "
                "minute to move %(times)s to between the check times before and after it: choose times further "
                "apart."
            )
            % {
                "day": f"{collision.night + timedelta(days=1):%Y-%m-%d}",
                "times": ", ".join(f"{t:%H:%M}" for t in collision.skipped),
            }
        )
    if not person.decisions.filter(decisions_not_ended_at(now)).exists():
        raise ActionRefused(_("No valid decision covers these check times: register the decision first."))
    agreement = Agreement.objects.filter(person=person).first() or Agreement(person=person)
    agreement.retry_delay_min = retry_delay_min
    agreement.notes = notes
    agreement.updated_at = now
    agreement.save()
    existing = {agreed.time: agreed for agreed in agreement.times.all()}
    wanted = dict(times)
    for agreed_time, agreed in existing.items():
        if agreed_time not in wanted:
            _cancel_planned_checks(agreed, reason="agreement_changed")
            agreed.delete()
        elif agreed.form != wanted[agreed_time]:
            # The planned checks stay, with the new form as their forecast (settle_form
            # decides again at due time). Cancelled, they would be lost: the cancelled row
            # keeps the (person, time) that a new check would need.
            agreed.form = wanted[agreed_time]
            agreed.save(update_fields=["form"])
            physical = agreed.form == CheckForm.PHYSICAL
            Check.objects.filter(agreed_time=agreed, state=CheckState.PLANNED).update(
                form=agreed.form, form_note="agreed_physical" if physical else ""
            )
    for agreed_time, form in wanted.items():
        if agreed_time not in existing:
            AgreedTime.objects.create(agreement=agreement, time=agreed_time, form=form, created_at=now)
    agreement.escalation_steps.all().delete()
    for order, kind in enumerate(escalation_steps or [EscalationKind.VISIT]):
        EscalationStep.objects.create(agreement=agreement, order=order, kind=kind)
    record(
        actor=actor,
        action=AuditAction.AGREEMENT_CHANGED,
        tenant=person.tenant_id,
        person=person,
        obj=agreement,
        detail={
            "times": [f"{t:%H:%M} {f}" for t, f in sorted(times)],
            "retry_delay_min": retry_delay_min,
            "escalation": list(escalation_steps),
        },
    )
    return agreement


def _cancel_planned_checks(agreed: AgreedTime, *, reason: str) -> None:
    for check in Check.objects.filter(agreed_time=agreed, state=CheckState.PLANNED):
        end_check(check, CheckState.CANCELLED, reason=reason, actor=None)
