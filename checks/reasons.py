"""Reasons with a kind and a value, as a check's end reason stores them: "absence:hospital",
"visit:visited_ok". Made and read only here, so the prefix is written once."""

from __future__ import annotations

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy

SEPARATOR = ":"


class ReasonKind(TextChoices):
    ABSENCE = "absence", gettext_lazy("Absence")  # the value: people.models.AbsenceKind
    VISIT = "visit", gettext_lazy("Visit")  # the value: checks.models.EscalationResult


def prefix(kind: ReasonKind) -> str:
    """What every reason of ``kind`` starts with (for ``end_reason__startswith``)."""
    return f"{kind.value}{SEPARATOR}"


def absence_reason(absence_kind: str) -> str:
    return prefix(ReasonKind.ABSENCE) + absence_kind


def visit_reason(result: str) -> str:
    return prefix(ReasonKind.VISIT) + result


def split_reason(reason: str) -> tuple[ReasonKind, str] | None:
    """The kind and value of a reason made here; None for a plain code."""
    kind, separator, value = reason.partition(SEPARATOR)
    if not separator or kind not in ReasonKind.values:
        return None
    return ReasonKind(kind), value
