"""Bad input gets a clear message on the form, in Swedish, and nothing saved is lost."""

from __future__ import annotations

from datetime import time

import pytest
from django.test import Client

from accounts.models import Role
from cameras.models import Camera
from checks.models import AgreedTime
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, make_person
from people.models import Absence, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def planner(client: Client, home: Municipality) -> Client:
    client.force_login(home.user(Role.PLANNER))
    return client


def person_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Ny Person",
        "personnummer": "19400101-9803",
        "address": "Vägen 1",
        "unit": "",
        "phone": "",
        "relative_name": "",
        "relative_phone": "",
        "entry_notes": "Kod 1234",
    }
    data.update(overrides)
    return data


def test_it_registers_a_person_with_a_valid_number(planner: Client) -> None:
    response = planner.post("/people/new/", person_form())
    assert response.status_code == 302
    assert Person.objects.get().personnummer == "194001019803"


def test_a_wrong_check_digit_is_explained_and_the_form_keeps_what_was_typed(planner: Client) -> None:
    response = planner.post("/people/new/", person_form(personnummer="19400101-9804"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="field-error-personnummer"' in page
    assert "kontrollsiffra" in page  # Swedish: the check digit is wrong
    assert "Kod 1234" in page and "Ny Person" in page  # nothing typed is lost
    assert not Person.objects.exists()


def test_a_duplicate_personnummer_is_refused(planner: Client, home: Municipality, fake_clock: FakeClock) -> None:
    make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    page = planner.post("/people/new/", person_form()).content.decode()
    assert 'data-testid="field-error-personnummer"' in page
    assert Person.objects.count() == 1


def test_overlapping_absences_are_refused_and_the_first_is_kept(
    planner: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    url = f"/people/{person.id}/absence/"
    first = planner.post(url, {"kind": "hospital", "starts_at": "2026-11-24T10:00", "ends_at": "2026-11-30T12:00"})
    assert first.status_code == 302
    second = planner.post(
        url, {"kind": "other", "starts_at": "2026-11-29T10:00", "ends_at": "2026-12-02T12:00", "note": "Hos dottern"}
    )
    page = second.content.decode()
    assert 'data-testid="form-error"' in page and "överlappar" in page
    assert "Hos dottern" in page
    assert Absence.objects.filter(person=person).count() == 1


def test_an_absence_that_ends_before_it_starts_is_refused(
    planner: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    page = planner.post(
        f"/people/{person.id}/absence/",
        {"kind": "other", "starts_at": "2026-11-24T10:00", "ends_at": "2026-11-23T10:00"},
    ).content.decode()
    assert 'data-testid="field-error-ends_at"' in page
    assert not Absence.objects.exists()


def test_check_times_without_a_valid_decision_are_refused(
    planner: Client, home: Municipality, fake_clock: FakeClock
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], times=[time(23, 0)])
    person.decisions.update(valid_to="2026-10-01")
    form = {"retry_delay_min": "15", "notes": "", "step_1": "visit", "time_0": "22:00", "form_0": "camera"}
    for row in range(1, 6):
        form[f"form_{row}"] = "camera"
    page = planner.post(f"/people/{person.id}/agreement/", form).content.decode()
    assert 'data-testid="form-error"' in page and "beslut" in page
    assert list(AgreedTime.objects.filter(agreement__person=person).values_list("time", flat=True)) == [time(23, 0)]


def test_an_agreement_needs_at_least_one_time(planner: Client, home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    page = planner.post(
        f"/people/{person.id}/agreement/",
        {"retry_delay_min": "15", "step_1": "visit", **{f"form_{r}": "camera" for r in range(6)}},
    ).content.decode()
    assert 'data-testid="form-error"' in page
    assert AgreedTime.objects.filter(agreement__person=person).count() == 3


def test_an_unknown_camera_gives_not_found(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.INSTALLER))
    assert client.get("/cameras/999999/").status_code == 404
    assert client.post("/cameras/999999/installation-test").status_code == 404


def test_a_camera_with_credentials_in_its_address_is_refused(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.INSTALLER))
    page = client.post(
        "/cameras/new/",
        {"name": "c1", "model": "X", "driver": "generic_rtsp", "stream_url": "rtsp://admin:secret@10.0.0.5/stream"},
    ).content.decode()
    assert 'data-testid="field-error-stream_url"' in page
    assert "secret" not in page  # the typed password is not echoed back
    assert not Camera.objects.exists()


def test_assigning_a_camera_to_an_unknown_person_is_refused(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.INSTALLER))
    page = client.post(
        "/cameras/new/",
        {
            "name": "c1",
            "model": "X",
            "driver": "generic_rtsp",
            "stream_url": "rtsp://10.0.0.5/stream",
            "person": "424242",
        },
    ).content.decode()
    assert 'data-testid="field-error-person"' in page
    assert not Camera.objects.exists()
