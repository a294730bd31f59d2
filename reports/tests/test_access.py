"""Who sees which report, and that no municipality sees another's."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from nattillsyn.clock import FakeClock
from nattillsyn.testing import Municipality
from reports.tests.night import SampleNight, drive_sample_night, report_client

pytestmark = pytest.mark.django_db

NAMES = ("Anna Ek", "Bo Lind", "Cilla Berg", "Dan Ström", "Norr", "Söder")
PAGES = {
    "/reports/tonight/": {Role.SHIFT_LEAD},
    "/reports/morning/": {Role.SHIFT_LEAD},
    "/reports/persons/": {Role.PLANNER, Role.CASE_OFFICER},
    "/reports/monthly/?month=2026-11": {Role.ADMINISTRATOR, Role.SHIFT_LEAD},
    "/reports/benefit/?month=2026-11": {Role.ADMINISTRATOR, Role.SHIFT_LEAD},
    "/reports/benefit/parameters/": {Role.ADMINISTRATOR},
    "/reports/": {Role.SHIFT_LEAD, Role.PLANNER, Role.CASE_OFFICER, Role.ADMINISTRATOR},
}


@pytest.fixture
def night(home: Municipality, fake_clock: FakeClock) -> SampleNight:
    return drive_sample_night(home, fake_clock)


def test_each_role_sees_its_reports_and_no_others(night: SampleNight, home: Municipality) -> None:
    for role in Role.values:
        client = report_client(home.user(role))
        for url, allowed in PAGES.items():
            status = client.get(url).status_code
            assert status == (200 if role in allowed else 403), (role, url, status)
        person = client.get(f"/reports/persons/{night.anna.id}/").status_code
        assert person == (200 if role in (Role.PLANNER, Role.CASE_OFFICER) else 403), (role, person)


def test_the_nav_link_shows_for_report_roles_only(home: Municipality) -> None:
    own_page = {
        Role.OPERATOR: "/console/",
        Role.PATROL: "/console/patrol/",
        Role.INSTALLER: "/cameras/",
        Role.AUDITOR: "/audit/",
    }
    for role in Role.values:
        response = report_client(home.user(role)).get(own_page.get(role, "/reports/"))
        assert response.status_code == 200, role
        assert ('href="/reports/"' in response.content.decode()) == (role not in own_page), role


def test_another_municipality_sees_none_of_it(night: SampleNight, home: Municipality, outsider: Municipality) -> None:
    tenant = home.tenant.id
    for role, user in outsider.users.items():
        client = report_client(user)
        urls = [url for url in PAGES] + [
            f"/reports/tonight/?tenant={tenant}",
            f"/reports/morning/?tenant={tenant}&night=2026-11-23",
            f"/reports/morning/?tenant={tenant}&night=2026-11-23&format=csv&table=checks",
            f"/reports/monthly/?tenant={tenant}&month=2026-11",
            f"/reports/monthly/?tenant={tenant}&month=2026-11&format=pdf",
            f"/reports/monthly/?tenant={tenant}&month=2026-11&format=csv&table=units",
            f"/reports/benefit/?tenant={tenant}&month=2026-11",
            f"/reports/benefit/parameters/?tenant={tenant}",
            f"/reports/persons/?person={night.anna.id}",
            f"/reports/persons/{night.anna.id}/",
            f"/reports/persons/{night.anna.id}/?format=csv&table=nights",
        ]
        for url in urls:
            response = client.get(url)
            body = response.content.decode(errors="replace")
            assert response.status_code in (200, 400, 403, 404), (role, url, response.status_code)
            assert not any(name in body for name in NAMES), (role, url)
            if f"tenant={tenant}" in url and response.status_code == 400:
                assert "Unknown municipality" in body
            if "/persons/" in url and str(night.anna.id) in url and role in (Role.PLANNER, Role.CASE_OFFICER):
                assert response.status_code in (400, 404)
        # Their own month is empty, not someone else's.
        if role in (Role.ADMINISTRATOR, Role.SHIFT_LEAD):
            report = client.get("/reports/monthly/?month=2026-11").context["report"]
            assert report.tenant == outsider.tenant and report.units == [] and report.total.checks == 0


def test_anonymous_users_go_to_the_login(night: SampleNight) -> None:
    for url in [*PAGES, f"/reports/persons/{night.anna.id}/"]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


BAD_MONTHS = [
    ("2026-13", "There is no month 13"),
    ("2026-00", "There is no month 0"),
    ("november", "Enter a month as YYYY-MM"),
    ("1999-12", "Choose a month between 2000-01 and this month."),
    ("2027-01", "Choose a month between 2000-01 and this month."),
    ("", "This field is required."),
]


def test_a_bad_month_is_a_form_error(home: Municipality, fake_clock: FakeClock) -> None:
    client = report_client(home.user(Role.ADMINISTRATOR))
    for month, message in BAD_MONTHS:
        for path in ("/reports/monthly/", "/reports/benefit/"):
            for extra in ("", "&format=pdf", "&format=csv&table=units"):
                response = client.get(f"{path}?month={month}{extra}")
                assert response.status_code == 400, (month, path, extra)
                page = response.content.decode()
                assert 'data-testid="field-error-month"' in page and message in page, (month, path, extra)
