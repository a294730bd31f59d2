"""The benefit calculation: from the real month and the municipality's own parameters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from accounts.models import Role
from audit.models import AuditEntry
from nattillsyn.clock import FakeClock
from nattillsyn.testing import Municipality
from reports.actions import BENEFIT_PARAMETERS_CHANGED
from reports.benefit import benefit_figures
from reports.models import BenefitParameters
from reports.tests.night import drive_sample_night, report_client

pytestmark = pytest.mark.django_db

URL = "/reports/benefit/?month=2026-11"
PARAMETERS = "/reports/benefit/parameters/"


def values(response) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {figure.key: figure.value for figure in response.context["figures"]}


def test_the_formulas_with_the_default_parameters() -> None:
    with translation.override("en"):
        figures = {f.key: f for f in benefit_figures(BenefitParameters(), visits_avoided=412, camera_persons=10)}
    # 412 visits × 20 min ÷ 60 = 137.333… → 137.33 h; 412 × 6 km = 2472 km; …
    assert figures["staff_hours"].value == Decimal("137.33")
    assert figures["km_avoided"].value == Decimal("2472.00")
    assert figures["co2_avoided"].value == Decimal("296.64")  # 2472 × 0.120
    assert figures["staff_cost_saved"].value == Decimal("57678.60")  # 137.33 × 420
    assert figures["travel_cost_saved"].value == Decimal("8652.00")  # 2472 × 3.50
    assert figures["camera_cost"].value == Decimal("3500.00")  # 10 × 350
    assert figures["net_cost"].value == Decimal("3500.00") - Decimal("57678.60") - Decimal("8652.00")
    assert figures["staff_hours"].formula == "412 × 20 min ÷ 60 = 137.33 h"
    assert figures["net_cost"].formula.endswith("= -62,830.60 SEK")
    with translation.override("sv"):
        swedish = {f.key: f for f in benefit_figures(BenefitParameters(), visits_avoided=412, camera_persons=10)}
    assert swedish["staff_hours"].formula == "412 × 20 min ÷ 60 = 137,33 h"


def test_it_computes_the_benefit_of_the_real_month(home: Municipality, fake_clock: FakeClock) -> None:
    drive_sample_night(home, fake_clock)
    response = report_client(home.user(Role.SHIFT_LEAD)).get(URL)
    assert response.status_code == 200
    # Two camera checks done (Anna 23:00, Bo 23:00) = two visits avoided; three persons on camera.
    assert values(response) == {
        "visits_avoided": Decimal(2),
        "staff_hours": Decimal("0.67"),  # 2 × 20 ÷ 60
        "km_avoided": Decimal("12.00"),  # 2 × 6
        "co2_avoided": Decimal("1.44"),  # 12 × 0.12
        "staff_cost_saved": Decimal("281.40"),  # 0.67 × 420
        "travel_cost_saved": Decimal("42.00"),  # 12 × 3.50
        "camera_cost": Decimal("1050.00"),  # 3 × 350
        "net_cost": Decimal("726.60"),  # 1050 − 281.40 − 42
    }
    page = response.content.decode()
    assert "0.67 h × 420 SEK/h = 281.40 SEK" in page
    assert "1,050 − 281.40 − 42 = 726.60 SEK" in page
    # The monthly report shows the same net cost from its own queries.
    monthly = report_client(home.user(Role.ADMINISTRATOR)).get("/reports/monthly/?month=2026-11")
    assert monthly.context["benefit"]["net_cost"].value == Decimal("726.60")


def test_the_administrator_sets_the_parameters_and_the_change_is_audited(
    home: Municipality, fake_clock: FakeClock
) -> None:
    drive_sample_night(home, fake_clock)
    admin = report_client(home.user(Role.ADMINISTRATOR))
    response = admin.post(
        PARAMETERS,
        {
            "tenant": home.tenant.id,
            "minutes_per_visit": "30",
            "km_per_visit": "10",
            "cost_per_staff_hour": "500",
            "cost_per_km": "2.5",
            "co2_kg_per_km": "0.2",
            "camera_cost_per_month": "300",
        },
    )
    assert response.status_code == 302
    saved = BenefitParameters.objects.get(tenant=home.tenant)
    assert (saved.minutes_per_visit, saved.camera_cost_per_month) == (Decimal("30.0"), Decimal("300.00"))
    entry = AuditEntry.objects.get(action=BENEFIT_PARAMETERS_CHANGED)
    assert entry.tenant_id == home.tenant.id and entry.actor == home.user(Role.ADMINISTRATOR)
    assert entry.detail["changes"]["minutes_per_visit"] == ["20.0", "30.0"]

    assert values(admin.get(URL)) == {
        "visits_avoided": Decimal(2),
        "staff_hours": Decimal("1.00"),
        "km_avoided": Decimal("20.00"),
        "co2_avoided": Decimal("4.00"),
        "staff_cost_saved": Decimal("500.00"),
        "travel_cost_saved": Decimal("50.00"),
        "camera_cost": Decimal("900.00"),
        "net_cost": Decimal("350.00"),
    }
    rows = admin.get(URL + "&format=csv&table=benefit").content.decode("utf-8-sig").splitlines()
    assert rows[0] == "Figure,Value,Unit,How it is computed"
    assert any(row.startswith("Net cost (negative: the municipality saves),350.00,SEK,") for row in rows)


def test_bad_parameters_are_form_errors(home: Municipality) -> None:
    admin = report_client(home.user(Role.ADMINISTRATOR))
    response = admin.post(
        PARAMETERS,
        {
            "tenant": home.tenant.id,
            "minutes_per_visit": "-5",
            "km_per_visit": "ten",
            "cost_per_staff_hour": "500",
            "cost_per_km": "2.5",
            "co2_kg_per_km": "0.2",
            "camera_cost_per_month": "300",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="field-error-minutes_per_visit"' in page and 'data-testid="field-error-km_per_visit"' in page
    assert not BenefitParameters.objects.exists()
    assert not AuditEntry.objects.filter(action=BENEFIT_PARAMETERS_CHANGED).exists()


def test_only_the_administrator_changes_parameters_and_only_for_their_municipality(
    home: Municipality, outsider: Municipality
) -> None:
    assert report_client(home.user(Role.SHIFT_LEAD)).get(PARAMETERS).status_code == 403
    lead_page = report_client(home.user(Role.SHIFT_LEAD)).get(URL).content.decode()
    assert 'data-testid="edit-parameters"' not in lead_page
    response = report_client(outsider.user(Role.ADMINISTRATOR)).post(
        PARAMETERS,
        {
            "tenant": home.tenant.id,
            "minutes_per_visit": "99",
            "km_per_visit": "1",
            "cost_per_staff_hour": "1",
            "cost_per_km": "1",
            "co2_kg_per_km": "1",
            "camera_cost_per_month": "1",
        },
    )
    assert response.status_code == 400
    assert "Unknown municipality" in response.content.decode()
    assert not BenefitParameters.objects.filter(tenant=home.tenant).exists()
