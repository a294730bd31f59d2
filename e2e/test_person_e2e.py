"""The person's side in a real browser: the letter "who looked at me" as a PDF the case
officer downloads, and a co-resident's withdrawal stopping a view that is playing."""

from __future__ import annotations

import time as wallclock
from typing import Any

import pytest

from accounts.models import Role
from audit.models import AuditAction, AuditEntry
from checks.engine import NightWorker
from checks.models import Check, CheckForm, Outcome
from e2e.test_night_e2e import due_now, open_check_in_console
from letters.tests.test_letters import NOVEMBER, a_month, pdf_text, sv
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person
from people.actions import add_co_resident, register_co_resident_consent
from people.models import ConsentMethod

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_case_officer_downloads_a_letter_telling_views_retries_a_skipped_night_and_the_installation_test(
    system: dict[str, Any], new_page: Any
) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    home.tenant.show_operator_name_in_letters = True
    home.tenant.contact_phone = "0611-123 45"
    home.tenant.save()
    person = make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0])
    a_month(home, person)

    page = new_page("nattby-case_officer")
    page.goto(system["url"] + f"/people/{person.id}/")
    page.fill("input[name=month]", f"{NOVEMBER:%Y-%m}")
    with page.expect_download() as download:
        page.click("[data-testid=produce-letter]")
    path = download.value.path()
    with open(path, "rb") as handle:
        content = pdf_text(handle.read())
    for expected in (
        "Astrid Andersson",
        "november 2026",
        "22:04",  # an agreed check
        "01:17",  # its new attempt after "not visible"
        "14:30",  # the installation test
        "Olle Operatör",
        "0611-123 45",
        sv("New attempt"),
        sv("Installation test"),
        str(Outcome.NOT_VISIBLE.label),
        sv("Nights without supervision"),
        "12 nov",  # the skipped night began on 12 November
    ):
        assert expected in content, expected
    assert AuditEntry.objects.filter(action=AuditAction.LETTER_PRODUCED, person=person).count() == 1


def test_a_co_residents_withdrawal_stops_the_view_that_is_playing(system: dict[str, Any], new_page: Any) -> None:
    home = make_municipality("Nattby kommun", "nattby")
    person = make_person(
        home,
        "Astrid Andersson",
        personnummer=TEST_PERSONNUMMER[0],
        times=[due_now()],
        camera_url=f"{system['rtsp']}/cam1",
    )
    co_resident = add_co_resident(person, actor=home.user(Role.PLANNER), name="Bertil Andersson", personnummer="")
    register_co_resident_consent(
        co_resident, actor=home.user(Role.PLANNER), method=ConsentMethod.ORAL, given_at=clock.now()
    )
    NightWorker("e2e").tick(clock.now())
    check = Check.objects.filter(person=person).order_by("scheduled_at").first()
    assert check is not None
    assert check.form == CheckForm.CAMERA

    operator = new_page("nattby-operator")
    open_check_in_console(operator, system, "Astrid Andersson")
    operator.wait_for_selector("#live[data-state=live]")

    officer = new_page("nattby-case_officer")
    officer.goto(system["url"] + f"/people/{person.id}/")
    officer.click("[data-testid=withdraw-co-resident-consent]")
    officer.click("[data-testid=save]")
    officer.wait_for_url(f"**/people/{person.id}/")
    withdrawn = wallclock.monotonic()
    assert officer.locator("[data-testid=household-status]").count() == 1

    # The gateway polls revocations every second: the picture stops within seconds.
    operator.wait_for_selector("#live[data-state=ended]", timeout=25_000)
    stopped_after = wallclock.monotonic() - withdrawn
    print(f"co-resident withdrawal stopped the view after {stopped_after:.1f} s")
    assert stopped_after < 5, stopped_after
    check.refresh_from_db()
    assert check.form == CheckForm.PHYSICAL and check.form_note == "co_resident_consent_withdrawn"
    assert AuditEntry.objects.filter(action=AuditAction.CO_RESIDENT_CONSENT_WITHDRAWN, person=person).exists()
