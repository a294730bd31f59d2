"""Letters "who looked at me": content, the fixed number of queries whatever the number
of persons, access, audit, and the batch for a whole municipality."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext as _
from pypdf import PdfReader

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from cameras.models import GrantPurpose, ViewGrant
from checks.models import Attempt, Check, CheckForm, CheckState, Escalation, EscalationCause, EscalationResult, Outcome
from letters import actions
from letters.content import ViewReason, month_letters
from letters.models import BatchState, LetterBatch
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person
from people.models import Absence, AbsenceKind, Person

pytestmark = pytest.mark.django_db
NOVEMBER = date(2026, 11, 1)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def sv(msgid: str) -> str:
    with translation.override("sv"):
        return _(msgid)


def a_view(person: Person, operator, at: datetime, *, outcome: str, check: Check | None = None, seconds: int = 25):  # type: ignore[no-untyped-def]
    """One camera view as the flow leaves it: a check, an attempt and its redeemed grant."""
    if check is None:
        check = Check.objects.create(
            tenant=person.tenant,
            person=person,
            night=at.astimezone(clock.STOCKHOLM).date(),
            scheduled_at=at,
            form=CheckForm.CAMERA,
            state=CheckState.DONE,
            window_ends_at=at + timedelta(hours=1),
        )
    attempt = Attempt.objects.create(
        night_check=check, operator=operator, opened_at=at, outcome=outcome, outcome_at=at + timedelta(seconds=40)
    )
    ViewGrant.objects.create(
        tenant=person.tenant,
        camera=person.camera,
        person=person,
        attempt=attempt,
        operator=operator,
        purpose=GrantPurpose.CHECK,
        issued_at=at,
        start_by=at + timedelta(minutes=2),
        hard_end=at + timedelta(minutes=3),
        max_view_s=30,
        redeemed_at=at + timedelta(seconds=1),
        first_frame_at=at + timedelta(seconds=2),
        ended_at=at + timedelta(seconds=2 + seconds),
    )
    return check


def a_month(home: Municipality, person: Person) -> None:
    """Views, a retry, an installation test, a visit, a skipped night; and things that
    are not the month's (October, a preparation nobody saw)."""
    operator = home.user(Role.OPERATOR)
    operator.first_name, operator.last_name = "Olle", "Operatör"
    operator.save()
    a_view(person, operator, at_stockholm(2026, 11, 3, 22, 4), outcome=Outcome.SEEN_OK)
    first = a_view(person, operator, at_stockholm(2026, 11, 4, 1, 2), outcome=Outcome.NOT_VISIBLE)
    a_view(person, operator, at_stockholm(2026, 11, 4, 1, 17), outcome=Outcome.SEEN_OK, check=first, seconds=12)
    a_view(person, operator, at_stockholm(2026, 10, 30, 22, 0), outcome=Outcome.SEEN_OK)  # October
    at = at_stockholm(2026, 11, 2, 14, 30)
    ViewGrant.objects.create(
        tenant=person.tenant,
        camera=person.camera,
        person=person,
        operator=operator,
        purpose=GrantPurpose.INSTALL_TEST,
        issued_at=at,
        start_by=at + timedelta(minutes=2),
        hard_end=at + timedelta(minutes=5),
        max_view_s=30,
        redeemed_at=at,
        ended_at=at + timedelta(seconds=40),
    )
    ViewGrant.objects.create(  # readied for a check, never shown: not a view
        tenant=person.tenant,
        camera=person.camera,
        person=person,
        purpose=GrantPurpose.PREPARE,
        issued_at=at,
        start_by=at,
        hard_end=at + timedelta(minutes=5),
        max_view_s=30,
    )
    Escalation.objects.create(
        tenant=person.tenant,
        person=person,
        night_check=first,
        cause=EscalationCause.NOT_VISIBLE,
        created_at=at_stockholm(2026, 11, 8, 1, 40),
        result=EscalationResult.VISITED_OK,
        resolved_at=at_stockholm(2026, 11, 8, 2, 5),
    )
    Absence.objects.create(
        person=person,
        kind=AbsenceKind.SKIP_NIGHT,
        starts_at=at_stockholm(2026, 11, 12, 20, 0),
        ends_at=at_stockholm(2026, 11, 13, 12, 0),
        created_by=home.user(Role.PLANNER),
    )


@pytest.fixture
def december(fake_clock: FakeClock) -> FakeClock:
    fake_clock.set(at_stockholm(2026, 12, 2, 10, 0))
    return fake_clock


def test_it_tells_every_view_retry_installation_test_visit_and_skipped_night(
    home: Municipality, december: FakeClock
) -> None:
    person = make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0])
    a_month(home, person)
    letter = month_letters(home.tenant, NOVEMBER, [person.id])[0]
    assert [(v.at.strftime("%d %H:%M"), v.reason, v.outcome, v.seconds) for v in letter.views] == [
        ("02 14:30", ViewReason.INSTALLATION_TEST, "", 40),
        ("03 22:04", ViewReason.SCHEDULED, Outcome.SEEN_OK, 25),
        ("04 01:02", ViewReason.SCHEDULED, Outcome.NOT_VISIBLE, 25),
        ("04 01:17", ViewReason.RETRY, Outcome.SEEN_OK, 12),
    ]
    assert {v.operator_name for v in letter.views} == {""}  # the municipality does not show names by default
    assert [(v.result, v.at.strftime("%d %H:%M")) for v in letter.visits] == [(EscalationResult.VISITED_OK, "08 02:05")]
    assert [s.kind for s in letter.skipped] == [AbsenceKind.SKIP_NIGHT]

    home.tenant.show_operator_name_in_letters = True
    home.tenant.contact_phone = "0611-123 45"
    home.tenant.save()
    # Words as read, whatever the table's line breaks ("Överenskommen / tillsyn" in a narrow column).
    content = " ".join(
        pdf_text(actions.produce_letter(person, actor=home.user(Role.CASE_OFFICER), month=NOVEMBER)).split()
    )
    with translation.override("sv"):  # as the letter is written, whatever an earlier test left active
        not_visible = str(Outcome.NOT_VISIBLE.label)
    for expected in (
        "Astrid Andersson",
        "Astrid Anderssons väg 1",
        "november 2026",  # Django's own Swedish month names
        "22:04",
        "01:17",
        "14:30",
        "Olle Operatör",
        home.tenant.name,
        "0611-123 45",
        sv("Installation test"),
        sv("New attempt"),
        sv("Agreed check"),
        not_visible,
        sv("Nights without supervision"),
    ):
        assert expected in content, expected
    assert "30 okt" not in content and "22:00" not in content  # October's view is not November's
    entry = AuditEntry.objects.get(action=AuditAction.LETTER_PRODUCED, person=person)
    assert entry.detail["month"] == "2026-11" and entry.detail["views"] == 4


def test_the_months_letters_take_the_same_queries_for_two_persons_or_twenty(
    home: Municipality, december: FakeClock
) -> None:
    persons = [make_person(home, f"Person {n}", personnummer=f"1940{n + 1:02d}019803") for n in range(2)]
    for person in persons:
        a_month(home, person)

    def queries() -> int:
        ids = list(Person.objects.filter(tenant=home.tenant).values_list("id", flat=True))
        with CaptureQueriesContext(connection) as captured:
            letters = month_letters(home.tenant, NOVEMBER, ids)
        assert len(letters) == len(ids)
        return len(captured)

    few = queries()
    for n in range(3):
        person = make_person(home, f"Fler {n}", personnummer=TEST_PERSONNUMMER[2 + n])
        a_month(home, person)
        for day in range(5):
            a_view(person, home.user(Role.OPERATOR), at_stockholm(2026, 11, 20 + day, 23, 0), outcome=Outcome.SEEN_OK)
    assert queries() == few == 5


def test_only_the_case_officer_of_the_persons_municipality_gets_the_letter(
    client: Client, home: Municipality, outsider: Municipality, december: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    url = f"/letters/person/{person.id}/?month=2026-11"
    client.force_login(outsider.user(Role.CASE_OFFICER))
    assert client.get(url).status_code == 404
    client.force_login(home.user(Role.OPERATOR))
    assert client.get(url).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.LETTER_PRODUCED).exists()
    client.force_login(home.user(Role.CASE_OFFICER))
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    # A month not begun yet, or no month: back to the page with a message, no 500.
    assert client.get(f"/letters/person/{person.id}/?month=2027-05").status_code == 302
    assert client.get(f"/letters/person/{person.id}/?month=maj").status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.LETTER_PRODUCED).count() == 1
    assert 'data-testid="produce-letter"' in client.get(f"/people/{person.id}/").content.decode()


def test_a_batch_makes_every_letter_of_the_month_into_one_file_and_audits_each(
    client: Client,
    home: Municipality,
    december: FakeClock,
    tmp_path,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.LETTERS_DIR = tmp_path
    astrid = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    bertil = make_person(home, "Bertil", personnummer=TEST_PERSONNUMMER[1], with_camera=False)
    a_month(home, astrid)
    client.force_login(home.user(Role.CASE_OFFICER))
    response = client.post("/letters/", {"month": "2026-11"})
    assert response.status_code == 302
    batch = LetterBatch.objects.get()
    progress = client.get(f"/letters/{batch.id}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="queued"' in progress and "hx-get" in progress
    claimed = actions.claim_batch()
    assert claimed is not None and actions.claim_batch() is None  # taken once
    done = actions.run_batch(claimed)
    assert done.state == BatchState.DONE and done.done == 2
    progress = client.get(f"/letters/{batch.id}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="done"' in progress and "hx-get" not in progress
    download = client.post(f"/letters/{batch.id}/download")
    assert download.status_code == 200
    content = pdf_text(b"".join(download.streaming_content))  # type: ignore[attr-defined]
    assert "Astrid" in content and "Bertil" in content and "22:04" in content
    produced = AuditEntry.objects.filter(action=AuditAction.LETTER_PRODUCED, person__isnull=False)
    assert sorted(produced.values_list("person_id", flat=True)) == sorted([astrid.id, bertil.id])
    assert AuditEntry.objects.filter(action=AuditAction.AUDIT_LOG_READ, detail__extract="letters").count() == 1


def test_another_municipality_cannot_see_or_take_a_batch(
    client: Client, home: Municipality, outsider: Municipality, december: FakeClock
) -> None:
    batch = actions.request_batch(home.tenant, actor=home.user(Role.CASE_OFFICER), month=NOVEMBER)
    client.force_login(outsider.user(Role.CASE_OFFICER))
    assert client.get(f"/letters/{batch.id}/").status_code == 404
    assert client.post(f"/letters/{batch.id}/download").status_code == 404
    client.post("/letters/", {"month": "2026-11", "tenant": str(home.tenant.id)})
    assert LetterBatch.objects.count() == 1


def test_the_information_sheet_tells_the_agreed_times_and_who_to_call(
    client: Client, home: Municipality, december: FakeClock
) -> None:
    home.tenant.contact_phone = "0611-123 45"
    home.tenant.save()
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    client.force_login(home.user(Role.PLANNER))
    assert 'data-testid="information-sheet"' in client.get(f"/people/{person.id}/agreement/").content.decode()
    response = client.get(f"/letters/person/{person.id}/information-sheet.pdf")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    content = reader.pages[0].extract_text()
    times = [f"{agreed.time:%H:%M}" for agreed in person.agreement.times.all()]
    assert times and all(t in content for t in times)
    assert "0611-123 45" in content and sv("Withdraw your consent") in content
    assert AuditEntry.objects.filter(action=AuditAction.INFORMATION_SHEET_PRODUCED, person=person).count() == 1
