"""Whose consent the camera needs: the person's and that of everyone living with them.

Asked by the one privacy rule (``cameras.policy.camera_allowed_for_person``) for every
open, redeem and planning forecast, so a co-resident without consent stops camera
checks wherever the person's own missing consent would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from people.models import CoResidentConsent
from people.validity import Span, boundaries_within, co_resident_consent_span

# The machine reason when a co-resident's consent is missing or withdrawn
# (nattillsyn.codes has its words).
NO_CO_RESIDENT_CONSENT = "no_co_resident_consent"


def household_consent_refusal(person: Any, moment: datetime) -> str | None:
    """None when the person's own consent and every co-resident's stand at ``moment``,
    else the machine reason. ``person`` is a Person (relations prefetched or not) or the
    planner's facts about one, which carry the same relations as lists."""
    if not any(consent.is_valid_at(moment) for consent in person.consents.all()):
        return "no_valid_consent"
    for co_resident in _co_residents(person):
        if not any(consent.is_valid_at(moment) for consent in co_resident.consents.all()):
            return NO_CO_RESIDENT_CONSENT
    return None


def picture_blurred(person: Any, moment: datetime) -> bool:
    """The person asked for a blurred picture in a consent that stands at ``moment``.
    (Any such consent: of two that overlap, the more private wish wins.)"""
    return any(consent.blurred and consent.is_valid_at(moment) for consent in person.consents.all())


def household_consent_stands(person: Any, moment: datetime) -> bool:
    return household_consent_refusal(person, moment) is None


def co_resident_consent_spans(person: Any) -> list[list[Span]]:
    """Per co-resident, the ``[given, withdrawn)`` spans of their consents: a view must
    end when the first co-resident's consent does (``cameras.policy.camera_allowed_until``)."""
    return [[consent.valid_span() for consent in co_resident.consents.all()] for co_resident in _co_residents(person)]


def _co_residents(person: Any) -> Iterable[Any]:
    """A Person's co-residents, or the planner's facts of them (checks.actions.planning_facts)."""
    return person.co_residents.all()  # type: ignore[no-any-return]


class FactList(list):  # type: ignore[type-arg]
    """Stands in for a prefetched related manager: ``.all()`` is the list itself."""

    def all(self) -> FactList:
        return self


@dataclass(slots=True)
class ConsentFacts:
    given_at: datetime
    withdrawn_at: datetime | None

    def is_valid_at(self, moment: datetime) -> bool:
        return self.valid_span().holds(moment)

    def valid_span(self) -> Span:
        return co_resident_consent_span(self.given_at, self.withdrawn_at)


@dataclass(slots=True)
class CoResidentFacts:
    """What the rule reads of one co-resident, for the planner's set-based facts."""

    consents: FactList = field(default_factory=FactList)

    def steady_through(self, night_start: datetime, night_end: datetime) -> bool:
        """No consent of this co-resident is given or withdrawn within the night."""
        return not boundaries_within((consent.valid_span() for consent in self.consents), night_start, night_end)


def co_resident_facts(person_ids: Any) -> dict[int, FactList]:
    """The co-residents of ``person_ids`` (ids or a subquery) and their consents, per
    person, in two queries, for the planner (``checks.actions.planning_facts``)."""
    from people.models import CoResident

    by_id: dict[int, CoResidentFacts] = {}
    facts: dict[int, FactList] = defaultdict(FactList)
    for co_resident_id, person_id in (
        CoResident.objects.filter(person__in=person_ids).order_by().values_list("id", "person_id")
    ):
        by_id[co_resident_id] = CoResidentFacts()
        facts[person_id].append(by_id[co_resident_id])
    consents = CoResidentConsent.objects.filter(co_resident__person__in=person_ids).order_by()
    for co_resident_id, given_at, withdrawn_at in consents.values_list("co_resident_id", "given_at", "withdrawn_at"):
        by_id[co_resident_id].consents.append(ConsentFacts(given_at, withdrawn_at))
    return dict(facts)
