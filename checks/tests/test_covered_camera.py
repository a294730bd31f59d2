"""A covered or turned camera: visits from the next check, the patrol told why, the
case officer's talk with the person before the camera is used again (checks/covered.py)."""

from __future__ import annotations

from datetime import time

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.health import ProbeResult
from cameras.models import Camera
from cameras.policy import camera_allowed_for_person
from checks import actions
from checks.covered import CAMERA_COVERED
from checks.covered_actions import concern_kind_of_problem, open_camera_concern, resolve_camera_concern
from checks.engine import NightWorker
from checks.models import (
    CameraConcern,
    Check,
    CheckForm,
    CheckState,
    ConcernKind,
    ConcernOutcome,
    Escalation,
    EscalationCause,
)
from nattillsyn.clock import FakeClock
from nattillsyn.codes import describe, label
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, SecondFactorClient, at_stockholm, make_person
from nattillsyn.tests.test_no_raw_codes import RAW
from people.actions import ActionRefused
from people.models import Person

pytestmark = pytest.mark.django_db


class FakeProber:
    def __init__(self, problem: str) -> None:
        self.problem = problem

    def __call__(self, camera: Camera) -> ProbeResult:
        return ProbeResult(not self.problem, self.problem)


def covered_tonight(
    home: Municipality, fake_clock: FakeClock, problem: str = "picture_black"
) -> tuple[Person, NightWorker]:
    """A person with checks at 23:00 and 02:00 whose camera two probes find ``problem``."""
    person = make_person(home, "Täckt", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0), time(2, 0)])
    worker = NightWorker("t", camera_prober=FakeProber(problem))
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 34))
    worker.tick(fake_clock())
    fake_clock.advance(minutes=1)
    worker.tick(fake_clock())
    return person, worker


def test_it_makes_a_black_picture_while_the_stream_is_up_a_concern_and_the_checks_visits(
    home: Municipality, fake_clock: FakeClock
) -> None:
    person, worker = covered_tonight(home, fake_clock)
    concern = CameraConcern.objects.get(person=person)
    assert concern.kind == ConcernKind.COVERED and concern.is_open and concern.evidence == "picture_black"
    eleven, two = Check.objects.filter(person=person).order_by("scheduled_at")[:2]
    # The fault itself escalated 23:00 (as ever), now with the reason the patrol reads.
    assert eleven.state == CheckState.ESCALATED and eleven.form_note == CAMERA_COVERED
    # The next check is a visit from the start, not a camera check retried.
    assert two.form == CheckForm.PHYSICAL and two.form_note == CAMERA_COVERED
    assert camera_allowed_for_person(person, fake_clock()) == CAMERA_COVERED
    entry = AuditEntry.objects.get(action=AuditAction.CAMERA_CONCERN_OPENED)
    assert entry.person_id == person.id and entry.detail["kind"] == ConcernKind.COVERED
    worker.camera_prober = FakeProber("")  # the person uncovers it: the concern stays until the talk
    fake_clock.set(at_stockholm(2026, 11, 24, 2, 0))
    worker.tick(fake_clock())
    two.refresh_from_db()
    assert two.state == CheckState.VISIT_PENDING and two.form_note == CAMERA_COVERED
    assert Escalation.objects.get(night_check=two).cause == EscalationCause.PLANNED_VISIT


@pytest.mark.parametrize(
    "problem", ["router_down", "unreachable", "stream_unreachable: timeout", "gateway_unreachable"]
)
def test_it_leaves_what_a_network_outage_also_gives_a_technical_fault(
    home: Municipality, fake_clock: FakeClock, problem: str
) -> None:
    person, _worker = covered_tonight(home, fake_clock, problem)
    assert not CameraConcern.objects.exists()
    assert Check.objects.filter(person=person, state=CheckState.ESCALATED).exists()
    assert (
        Check.objects.filter(person=person, state=CheckState.PLANNED).order_by("scheduled_at")[0].form
        == CheckForm.CAMERA
    )


@pytest.mark.parametrize(
    ("problem", "kind"),
    [
        ("picture_black", ConcernKind.COVERED),
        ("picture_frozen", ConcernKind.COVERED),
        ("privacy_not_reached", ConcernKind.TURNED),
        ("move_incomplete: PTZ timeout", ConcernKind.TURNED),
        ("router_down", None),
        ("stream_offline", None),
    ],
)
def test_it_names_what_the_person_could_have_done(problem: str, kind: str | None) -> None:
    assert concern_kind_of_problem(problem) == kind


def test_one_finding_after_another_opens_one_concern(home: Municipality, fake_clock: FakeClock) -> None:
    person, worker = covered_tonight(home, fake_clock)
    fake_clock.advance(minutes=1)
    worker.tick(fake_clock())
    assert open_camera_concern(person, actor=None, kind=ConcernKind.REPORTED) is None
    assert CameraConcern.objects.filter(person=person).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.CAMERA_CONCERN_OPENED).count() == 1


def test_the_talk_returns_the_checks_to_camera(home: Municipality, fake_clock: FakeClock) -> None:
    person, worker = covered_tonight(home, fake_clock)
    worker.camera_prober = FakeProber("")
    concern = CameraConcern.objects.get(person=person)
    case_officer = home.user(Role.CASE_OFFICER)
    resolve_camera_concern(concern, actor=case_officer, outcome=ConcernOutcome.CAMERA_WANTED, note="Ville ha mörkt")
    assert camera_allowed_for_person(person, fake_clock()) is None
    fake_clock.set(at_stockholm(2026, 11, 24, 2, 0))
    worker.tick(fake_clock())
    two = Check.objects.get(person=person, scheduled_at=at_stockholm(2026, 11, 24, 2, 0))
    assert two.form == CheckForm.CAMERA and two.state == CheckState.DUE
    entry = AuditEntry.objects.get(action=AuditAction.CAMERA_CONCERN_RESOLVED)
    assert entry.actor_id == case_officer.id and entry.detail["outcome"] == ConcernOutcome.CAMERA_WANTED
    with pytest.raises(ActionRefused):
        resolve_camera_concern(concern, actor=case_officer, outcome=ConcernOutcome.CAMERA_WANTED)


def test_a_person_who_no_longer_wants_the_camera_has_their_consent_withdrawn(
    home: Municipality, fake_clock: FakeClock
) -> None:
    person, _worker = covered_tonight(home, fake_clock)
    concern = CameraConcern.objects.get(person=person)
    resolve_camera_concern(concern, actor=home.user(Role.CASE_OFFICER), outcome=ConcernOutcome.CONSENT_WITHDRAWN)
    assert camera_allowed_for_person(person, fake_clock()) == "no_valid_consent"
    assert AuditEntry.objects.filter(action=AuditAction.CONSENT_WITHDRAWN, person=person).count() == 1


def test_the_patrol_reads_why_and_the_case_officer_finds_the_task(home: Municipality, fake_clock: FakeClock) -> None:
    person, _worker = covered_tonight(home, fake_clock)
    patrol = SecondFactorClient()
    patrol.force_login(home.user(Role.PATROL))
    page = patrol.get("/console/patrol/").content.decode()
    assert 'data-testid="escalation-why"' in page
    case_officer = SecondFactorClient()
    case_officer.force_login(home.user(Role.CASE_OFFICER))
    tasks = case_officer.get("/people/camera-concerns/").content.decode()
    assert person.name in tasks and 'data-testid="record-talk"' in tasks
    assert 'data-testid="camera-concerns-link"' in case_officer.get("/people/").content.decode()
    assert 'data-testid="camera-concern-open"' in case_officer.get(f"/people/{person.id}/").content.decode()
    concern = CameraConcern.objects.get(person=person)
    response = case_officer.post(
        f"/people/camera-concerns/{concern.id}/outcome/", {"outcome": ConcernOutcome.NOT_BY_PERSON, "note": ""}
    )
    assert response.status_code == 302
    concern.refresh_from_db()
    assert not concern.is_open and concern.outcome == ConcernOutcome.NOT_BY_PERSON
    # A choice left out keeps the form, with the note typed, and changes nothing.
    again = open_camera_concern(person, actor=None, kind=ConcernKind.REPORTED)
    assert again is not None
    response = case_officer.post(f"/people/camera-concerns/{again.id}/outcome/", {"note": "skrivet"})
    assert response.status_code == 200 and "skrivet" in response.content.decode()
    assert CameraConcern.objects.get(id=again.id).is_open


def test_another_municipality_sees_no_task(home: Municipality, outsider: Municipality, fake_clock: FakeClock) -> None:
    person, _worker = covered_tonight(home, fake_clock)
    concern = CameraConcern.objects.get(person=person)
    client = SecondFactorClient()
    client.force_login(outsider.user(Role.CASE_OFFICER))
    assert person.name not in client.get("/people/camera-concerns/").content.decode()
    assert client.get(f"/people/camera-concerns/{concern.id}/outcome/").status_code == 404
    response = client.post(f"/people/camera-concerns/{concern.id}/outcome/", {"outcome": ConcernOutcome.CAMERA_WANTED})
    assert response.status_code == 404
    assert CameraConcern.objects.get(id=concern.id).is_open
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_REFUSED).exists()


def test_the_patrol_reports_a_camera_found_covered_at_the_visit(home: Municipality, fake_clock: FakeClock) -> None:
    person, _worker = covered_tonight(home, fake_clock, "router_down")  # looks like a network fault
    escalation = Escalation.objects.get(person=person, cause=EscalationCause.TECHNICAL_FAULT)
    patrol = SecondFactorClient()
    patrol.force_login(home.user(Role.PATROL))
    assert 'data-testid="camera-covered"' in patrol.get("/console/patrol/").content.decode()
    assert patrol.post(f"/console/patrol/{escalation.id}/camera-covered").status_code == 302
    concern = CameraConcern.objects.get(person=person)
    assert concern.kind == ConcernKind.REPORTED and concern.found_by == home.user(Role.PATROL)
    assert camera_allowed_for_person(person, fake_clock()) == CAMERA_COVERED
    page = patrol.get("/console/patrol/").content.decode()
    assert 'data-testid="escalation-why"' in page and 'data-testid="camera-covered"' not in page
    assert patrol.post(f"/console/patrol/{escalation.id}/camera-covered").status_code == 302  # twice: one concern
    assert CameraConcern.objects.filter(person=person).count() == 1


def test_the_audit_log_reads_the_concern_in_words(home: Municipality, fake_clock: FakeClock) -> None:
    person, _worker = covered_tonight(home, fake_clock)
    resolve_camera_concern(
        CameraConcern.objects.get(person=person),
        actor=home.user(Role.CASE_OFFICER),
        outcome=ConcernOutcome.NOT_BY_PERSON,
    )
    for action in (AuditAction.CAMERA_CONCERN_OPENED, AuditAction.CAMERA_CONCERN_RESOLVED):
        text = describe(AuditEntry.objects.get(action=action).detail)
        assert not RAW.search(text), text
    assert not RAW.search(label(CAMERA_COVERED))


def test_nights_planned_while_the_concern_is_open_are_planned_as_visits(
    home: Municipality, fake_clock: FakeClock
) -> None:
    person, worker = covered_tonight(home, fake_clock)
    worker.camera_prober = FakeProber("")
    fake_clock.set(at_stockholm(2026, 11, 25, 22, 0))
    worker.tick(fake_clock())
    later = Check.objects.filter(person=person, scheduled_at__gte=at_stockholm(2026, 11, 25, 12, 0))
    assert later.exists()
    assert {(check.form, check.form_note) for check in later} == {(CheckForm.PHYSICAL, CAMERA_COVERED)}


def test_a_later_night_stays_visits_while_the_concern_is_open(home: Municipality, fake_clock: FakeClock) -> None:
    person, worker = covered_tonight(home, fake_clock)
    worker.camera_prober = FakeProber("")  # uncovered again, but nobody has talked with the person
    fake_clock.set(at_stockholm(2026, 11, 25, 23, 0))
    worker.tick(fake_clock())
    check = Check.objects.get(person=person, scheduled_at=at_stockholm(2026, 11, 25, 23, 0))
    assert check.state == CheckState.VISIT_PENDING and check.form_note == CAMERA_COVERED


def test_the_operator_reports_a_covered_lens_during_the_view(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Vriden", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0), time(2, 0)])
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    eleven, two = Check.objects.filter(person=person).order_by("scheduled_at")[:2]
    operator = home.user(Role.OPERATOR)
    attempt, _token = actions.open_check(eleven, actor=operator)
    client = SecondFactorClient()
    client.force_login(operator)
    assert 'data-testid="camera-covered"' in client.get(f"/console/attempts/{attempt.id}/").content.decode()
    assert client.post(f"/console/attempts/{attempt.id}/camera-covered").status_code == 302
    eleven.refresh_from_db()
    two.refresh_from_db()
    assert eleven.state == CheckState.VISIT_PENDING and eleven.form_note == CAMERA_COVERED
    assert two.form == CheckForm.PHYSICAL and two.form_note == CAMERA_COVERED
    attempt.grant.refresh_from_db()
    assert attempt.grant.revoked_at is not None
    assert CameraConcern.objects.get(person=person).found_by == operator
    # Only the operator of the view reports on it (the role table covers the other roles).
    lead = SecondFactorClient()
    lead.force_login(home.user(Role.SHIFT_LEAD))
    assert lead.post(f"/console/attempts/{attempt.id}/camera-covered").status_code in (403, 404)
