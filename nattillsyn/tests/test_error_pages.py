"""Error pages in Swedish, in the site's layout; the 500 page needs no database."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error

from accounts.models import Role
from nattillsyn.testing import Municipality, SecondFactorClient

pytestmark = pytest.mark.django_db


def test_it_answers_a_missing_page_in_swedish_with_the_menu(home: Municipality, settings: Any) -> None:
    settings.DEBUG = False
    client = SecondFactorClient()
    client.force_login(home.user(Role.PLANNER))
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "<title>Sidan finns inte – Nattillsyn</title>" in page
    assert 'href="/people/"' in page and 'class="skip-link"' in page


def test_it_answers_a_forbidden_page_in_swedish(home: Municipality, settings: Any) -> None:
    settings.DEBUG = False
    client = SecondFactorClient()
    client.force_login(home.user(Role.PATROL))
    response = client.get("/audit/")
    assert response.status_code == 403
    assert "Ingen behörighet" in response.content.decode()


def test_the_server_error_page_needs_no_database(django_assert_num_queries: Any) -> None:
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="sv")
    with django_assert_num_queries(0):
        response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert "Något gick fel" in page and "site.css" in page


def test_the_menu_waits_for_the_second_factor(home: Municipality) -> None:
    client = Client()  # a plain login: the password is done, the code is not
    client.force_login(home.user(Role.SHIFT_LEAD))
    page = client.get("/mfa/").content.decode()
    assert 'aria-label="Huvudmeny"' not in page and 'href="/console/lead/"' not in page
    assert "Logga ut" in page
    logged_in = SecondFactorClient()
    logged_in.force_login(home.user(Role.SHIFT_LEAD))
    assert 'href="/console/lead/"' in logged_in.get("/console/lead/").content.decode()
