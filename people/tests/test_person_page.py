from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, make_person
from people.actions import save_person

pytestmark = pytest.mark.django_db


def test_it_shows_the_unit_and_names_a_coordination_number(client: Client, home: Municipality) -> None:
    # 19400161-…: day 01 + 60, a samordningsnummer (check digit valid).
    person = make_person(home, "Sam Ordning", personnummer="194001619800")
    save_person(person, actor=home.user(Role.PLANNER), tenant=home.tenant, unit="Hemtjänst Norr")
    client.force_login(home.user(Role.PLANNER))
    page = client.get(f"/people/{person.id}/").content.decode()
    assert "Samordningsnummer" in page and "Personnummer" not in page
    assert "Hemtjänst Norr" in client.get("/people/").content.decode()
    other = make_person(home, "Per Sonnummer", personnummer=TEST_PERSONNUMMER[1])
    assert "Personnummer" in client.get(f"/people/{other.id}/").content.decode()


def test_a_new_camera_has_no_password_to_keep(client: Client, home: Municipality) -> None:
    client.force_login(home.user(Role.INSTALLER))
    assert "behålla" not in client.get("/cameras/new/").content.decode()


def test_the_edit_form_names_a_coordination_number_too(client: Client, home: Municipality) -> None:
    person = make_person(home, "Sam Ordning", personnummer="194001619800")
    client.force_login(home.user(Role.PLANNER))
    form = client.get(f"/people/{person.id}/edit/").content.decode()
    assert '<label for="id_personnummer">Samordningsnummer' in form
    assert "Personnummer" not in form
