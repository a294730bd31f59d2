"""The rule plan_night asks of each agreed time, alone: covered, away, camera refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from checks.actions.planning import PlannedCheck, check_to_plan
from checks.models import CheckForm, CheckState
from checks.reasons import ReasonKind, absence_reason, split_reason, visit_reason
from people.models import AbsenceKind

FORMS = st.sampled_from(CheckForm.values)
REFUSALS = st.sampled_from([None, "no_valid_consent", "camera_not_tested", "no_camera"])
ABSENCES = st.sampled_from([None, *AbsenceKind.values])


@given(FORMS, REFUSALS, ABSENCES)
def test_it_plans_nothing_without_a_decision(form: str, refusal: str | None, absence: str | None) -> None:
    assert check_to_plan(form, covered=False, camera_refusal=refusal, absence_kind=absence) is None


@given(FORMS, REFUSALS, st.sampled_from(AbsenceKind.values))
def test_it_cancels_a_check_the_person_is_away_for(form: str, refusal: str | None, absence: str) -> None:
    planned = check_to_plan(form, covered=True, camera_refusal=refusal, absence_kind=absence)
    assert planned == PlannedCheck(CheckState.CANCELLED, form, "", absence_reason(absence))
    assert split_reason(planned.end_reason) == (ReasonKind.ABSENCE, absence)


def test_it_plans_a_refused_camera_check_as_a_visit_with_the_refusal() -> None:
    planned = check_to_plan(CheckForm.CAMERA, covered=True, camera_refusal="no_valid_consent", absence_kind=None)
    assert planned == PlannedCheck(CheckState.PLANNED, CheckForm.PHYSICAL, "no_valid_consent", "")


@given(FORMS)
def test_it_plans_the_agreed_form_when_nothing_stands_in_the_way(form: str) -> None:
    assert check_to_plan(form, covered=True, camera_refusal=None, absence_kind=None) == PlannedCheck(
        CheckState.PLANNED, form, "", ""
    )


def test_it_keeps_an_agreed_visit_a_visit_whatever_the_camera() -> None:
    planned = check_to_plan(CheckForm.PHYSICAL, covered=True, camera_refusal="no_camera", absence_kind=None)
    assert planned == PlannedCheck(CheckState.PLANNED, CheckForm.PHYSICAL, "", "")


def test_it_reads_back_the_reasons_it_makes() -> None:
    assert absence_reason("hospital") == "absence:hospital"
    assert visit_reason("visited_ok") == "visit:visited_ok"
    assert split_reason("visit:visited_ok") == (ReasonKind.VISIT, "visited_ok")
    assert split_reason("missed") is None
    assert split_reason("stream_unreachable: timeout") is None
