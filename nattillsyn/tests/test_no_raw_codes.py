"""Staff read words, never the codes the system stores: every page that shows a camera
problem, an outcome, a reason, a log flag or an audit entry's details is rendered with
a night's worth of data and searched for codes in its visible text."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.models import CameraProblem
from checks import actions
from checks.models import Check, CheckState
from nattillsyn import clock
from nattillsyn.codes import describe, label
from nattillsyn.errors import ActionRefused
from nattillsyn.testing import Municipality, SecondFactorClient, at_stockholm, camera_of
from people.actions import register_absence
from people.models import AbsenceKind
from reports.tests.night import drive_sample_night

# A visible snake_case word is a stored code (picture_black, not_yet_due, seen_ok, …);
# "absence:" and "visit:" prefix codes; "{'" and "':" are a Python dict.
RAW = re.compile(r"\b[a-z]+_[a-z_]+\b|\b(?:absence|visit):|\{'|':|grant has expired")


class VisibleText(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


@pytest.fixture
def busy_night(home: Municipality, fake_clock: Any) -> dict[str, Any]:
    night = drive_sample_night(home, fake_clock)
    # Camera faults of every kind the probe reports.
    for person, problem in [
        (night.anna, CameraProblem.PICTURE_BLACK),
        (night.bo, CameraProblem.PICTURE_FROZEN),
        (night.dan, CameraProblem.STREAM_OFFLINE),
    ]:
        for _probe in range(2):
            actions.record_camera_probe(
                camera_of(person), ok=False, problem=problem, now=clock.now(), horizon=timedelta(hours=1)
            )
    # A hospital stay cancels the next night's checks ("absence:hospital").
    fake_clock.set(at_stockholm(2026, 11, 24, 12))
    actions.plan_night(home.tenant, at_stockholm(2026, 11, 24, 12).date(), now=clock.now())
    register_absence(
        night.dan,
        actor=home.user(Role.PLANNER),
        kind=AbsenceKind.HOSPITAL,
        starts_at=clock.now(),
        ends_at=clock.now() + timedelta(days=3),
    )
    # An attempt to open a camera before its time: refused, audited and flagged ("not_yet_due").
    early = Check.objects.filter(person=night.anna, state=CheckState.PLANNED).order_by("scheduled_at").first()
    assert early is not None
    with pytest.raises(ActionRefused):
        actions.open_check(early, actor=home.user(Role.OPERATOR))
    assert AuditEntry.objects.filter(action=AuditAction.GRANT_REFUSED).exists()
    return {"night": night}


def pages(home: Municipality, busy_night: dict[str, Any]) -> list[tuple[str, str]]:
    night = busy_night["night"]
    people = [night.anna, night.bo, night.cilla, night.dan]
    cameras = [camera_of(person) for person in (night.anna, night.bo, night.dan)]
    return [
        (Role.INSTALLER, "/cameras/"),
        *[(Role.INSTALLER, f"/cameras/{camera.id}/") for camera in cameras],
        *[(Role.PLANNER, f"/people/{person.id}/") for person in people],
        (Role.SHIFT_LEAD, "/reports/morning/?night=2026-11-23"),
        *[(Role.PLANNER, f"/reports/persons/{person.id}/") for person in people],
        (Role.SHIFT_LEAD, "/console/lead/"),
        (Role.SHIFT_LEAD, "/console/patrol/"),
        (Role.AUDITOR, "/audit/"),
        (Role.AUDITOR, "/audit/flags/?date_from=2026-11-20&date_to=2026-11-30"),
        (Role.AUDITOR, "/audit/review/?date_from=2026-11-20&date_to=2026-11-30"),
    ]


def test_it_shows_no_raw_code_on_any_page(home: Municipality, busy_night: dict[str, Any]) -> None:
    found = []
    for role, url in pages(home, busy_night):
        client = SecondFactorClient()
        client.force_login(home.user(role))
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        # User names are chosen by people, not codes ("nattby-shift_lead").
        text = re.sub(r"\bnattby-\w+", "", visible_text(response.content.decode()))
        found += [(url, match) for match in RAW.findall(text)]
    assert not found, found


def test_it_words_every_code_in_swedish_and_english(settings: Any) -> None:
    from django.utils import translation

    with translation.override("sv"):
        assert label("picture_black") == "Svart bild"
        assert label("absence:hospital") == "Frånvaro: Sjukhusvistelse"
        assert label("seen_ok") == "Sedd, OK"
        assert label("stream_unreachable: timeout") == "Bildströmmen går inte att nå: timeout"
    with translation.override("en"):
        assert label("not_yet_due") == "Not due yet"
        assert label("visit:visited_ok") == "Visit: Visited: OK"
        assert label("Astrid Andersson") == "Astrid Andersson"  # not a code: unchanged


def test_it_describes_audit_details_as_a_sentence() -> None:
    from django.utils import translation

    with translation.override("sv"):
        text = describe({"cause": "not_visible", "check": 7, "plan": ["visit", "call_relative"], "note": ""})
    assert text == "Orsak: Syns inte två gånger · tillsyn: 7 · plan: Fysiskt besök → Ring en anhörig"
