"""The night patrol's list, read on a phone in a car or a stairwell: emergencies
before agreed visits, newest first, and a sentence after each step."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext as _

from checks.models import Escalation, EscalationCause, EscalationState

# Somebody may be lying on the floor: these go before the visits agreed in advance.
EMERGENCY_CAUSES = (
    EscalationCause.NOT_VISIBLE,
    EscalationCause.NEEDS_HELP,
    EscalationCause.TECHNICAL_FAULT,
    EscalationCause.MISSED,
)


def escalations_for_patrol(tenant_ids: Iterable[int]) -> QuerySet[Escalation]:
    """Open and acknowledged escalations: emergencies first, then agreed visits; newest first in each."""
    return (
        Escalation.objects.filter(
            tenant_id__in=tenant_ids, state__in=(EscalationState.OPEN, EscalationState.ACKNOWLEDGED)
        )
        .select_related("person", "night_check", "acknowledged_by")
        .annotate(
            planned=Case(
                When(cause=EscalationCause.PLANNED_VISIT, then=Value(1)), default=Value(0), output_field=IntegerField()
            )
        )
        .order_by("planned", "-created_at", "-id")
    )


def is_emergency(escalation: Escalation) -> bool:
    return escalation.cause in EMERGENCY_CAUSES


def acknowledged_message(escalation: Escalation) -> str:
    return _("You have acknowledged %(name)s. Record the result when you are done.") % {"name": escalation.person.name}


def recorded_message(escalation: Escalation) -> str:
    return _("Result recorded for %(name)s: %(result)s.") % {
        "name": escalation.person.name,
        "result": escalation.get_result_display(),
    }


def acknowledge_first_message() -> str:
    # The shift lead sees an acknowledged escalation as taken care of; recording a
    # result straight away would skip that signal to the rest of the night staff.
    return _("Acknowledge the escalation first, then record the result.")
