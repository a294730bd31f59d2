"""What the planning rules read of many persons at once, fetched in one query per relation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from cameras.models import Camera, InstallationTest
from checks.actions.persistence import fetch_rows
from checks.covered import persons_with_open_concern
from people.models import Absence, Consent, Decision
from people.rules import co_resident_facts
from people.validity import Span, boundaries_within, consent_span, decision_span


class Related(list):  # type: ignore[type-arg]
    """Stands in for a prefetched related manager: ``.all()`` is the list itself."""

    def all(self) -> Related:
        return self


@dataclass(slots=True)
class ConsentFacts:
    given_at: datetime
    withdrawn_at: datetime | None
    valid_until: date | None

    def is_valid_at(self, moment: datetime) -> bool:
        return self.valid_span().holds(moment)

    def valid_span(self) -> Span:
        return consent_span(self.given_at, self.withdrawn_at, self.valid_until)


@dataclass(slots=True)
class DecisionFacts:
    valid_from: date
    valid_to: date | None

    def covers(self, moment: datetime) -> bool:
        return self.valid_span().holds(moment)

    def valid_span(self) -> Span:
        return decision_span(self.valid_from, self.valid_to)


class AbsenceFacts(NamedTuple):
    kind: str
    starts_at: datetime
    ends_at: datetime


@dataclass
class CameraFacts:
    installation_passed: bool


@dataclass
class PersonFacts:
    """What the planning rules read of a person, fetched for many persons at once;
    ``camera_allowed_for_person`` reads it as it reads a Person with prefetched relations."""

    decisions: Related = field(default_factory=Related)
    consents: Related = field(default_factory=Related)
    absences: list[AbsenceFacts] = field(default_factory=list)
    camera: CameraFacts | None = None
    # people.rules.CoResidentFacts: everyone at home must consent (camera_allowed_for_person).
    co_residents: Related = field(default_factory=Related)
    # An open covered-camera concern (checks.covered.camera_concern_refusal reads it).
    camera_concern_open: bool = False

    def absence_at(self, moment: datetime) -> AbsenceFacts | None:
        """The newest absence covering ``moment`` (the absences are newest first)."""
        return next((a for a in self.absences if a.starts_at <= moment < a.ends_at), None)

    def steady_through(self, night_start: datetime, night_end: datetime) -> bool:
        """No consent or decision of this person begins or ends within the night, so
        ``camera_allowed_for_person`` answers the same at every instant of it."""
        spans = [record.valid_span() for record in (*self.consents, *self.decisions)]
        return not boundaries_within(spans, night_start, night_end) and all(
            co_resident.steady_through(night_start, night_end) for co_resident in self.co_residents
        )


def planning_facts(person_ids: Any, night_start: datetime, night_end: datetime) -> dict[int, PersonFacts]:
    """One query per relation for all of ``person_ids`` (a subquery, not a list)."""
    facts: dict[int, PersonFacts] = defaultdict(PersonFacts)
    decisions = Decision.objects.filter(person__in=person_ids).order_by()
    for person_id, valid_from, valid_to in fetch_rows(decisions.values_list("person_id", "valid_from", "valid_to")):
        facts[person_id].decisions.append(DecisionFacts(valid_from, valid_to))
    consents = Consent.objects.filter(person__in=person_ids).order_by()
    for person_id, given_at, withdrawn_at, valid_until in fetch_rows(
        consents.values_list("person_id", "given_at", "withdrawn_at", "valid_until")
    ):
        facts[person_id].consents.append(ConsentFacts(given_at, withdrawn_at, valid_until))
    # Newest first, as Person.absences.all() is ordered, so the same absence gives the reason.
    absences = Absence.objects.filter(person__in=person_ids, starts_at__lt=night_end, ends_at__gt=night_start)
    for person_id, kind, starts_at, ends_at in absences.order_by("-starts_at").values_list(
        "person_id", "kind", "starts_at", "ends_at"
    ):
        facts[person_id].absences.append(AbsenceFacts(kind, starts_at, ends_at))
    for person_id, co_residents in co_resident_facts(person_ids).items():
        facts[person_id].co_residents = Related(co_residents)
    camera_person = dict(Camera.objects.filter(person__in=person_ids).order_by().values_list("id", "person_id"))
    for person_id in camera_person.values():
        facts[person_id].camera = CameraFacts(installation_passed=False)
    # Camera.installation_passed: the newest test passed, with the camera at this person.
    tests = InstallationTest.objects.filter(camera_id__in=Camera.objects.filter(person__in=person_ids).values("id"))
    seen: set[int] = set()
    for camera_id, tested_person_id, passed in tests.order_by("camera_id", "-performed_at").values_list(
        "camera_id", "person_id", "passed"
    ):
        if camera_id in seen:
            continue
        seen.add(camera_id)
        person_id = camera_person[camera_id]
        facts[person_id].camera = CameraFacts(installation_passed=passed and tested_person_id == person_id)
    for person_id in persons_with_open_concern(person_ids):
        facts[person_id].camera_concern_open = True
    return facts
