"""The benefit calculation, after Inera's simplified calculation for digital night supervision.

Every camera check done is a physical visit that would otherwise have been made. From
the municipality's own parameters that gives staff hours, kilometres, CO2 and money;
the camera's cost is set against it. Each figure carries its formula with the numbers
put in, rounded as shown, so anyone can redo the sum by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from reports.models import BenefitParameters

CENT = Decimal("0.01")


@dataclass
class Figure:
    key: str
    label: str
    value: Decimal
    unit: str
    formula: str


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _n(value: Decimal | int, places: int = 2) -> str:
    if isinstance(value, int) or value == value.to_integral_value():
        places = 0
    return number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)


def benefit_figures(
    parameters: BenefitParameters, *, visits_avoided: int, camera_persons: int, months: int = 1
) -> list[Figure]:
    p = parameters
    minutes, km_per_visit = Decimal(p.minutes_per_visit), Decimal(p.km_per_visit)
    hour_cost, km_cost = Decimal(p.cost_per_staff_hour), Decimal(p.cost_per_km)
    co2_per_km, camera_month = Decimal(p.co2_kg_per_km), Decimal(p.camera_cost_per_month)

    hours = _round(visits_avoided * minutes / 60)
    km = _round(visits_avoided * km_per_visit)
    co2 = _round(km * co2_per_km)
    staff_cost = _round(hours * hour_cost)
    travel_cost = _round(km * km_cost)
    camera_cost = _round(camera_persons * camera_month * months)
    net_cost = camera_cost - staff_cost - travel_cost
    kr = _("SEK")
    return [
        Figure(
            "visits_avoided",
            _("Physical visits avoided"),
            Decimal(visits_avoided),
            _("visits"),
            _("%(visits)s camera checks done, each instead of a visit") % {"visits": _n(visits_avoided)},
        ),
        Figure(
            "staff_hours",
            _("Staff hours freed"),
            hours,
            _("h"),
            f"{_n(visits_avoided)} × {_n(minutes, 1)} min ÷ 60 = {_n(hours)} h",
        ),
        Figure(
            "km_avoided",
            _("Driving avoided"),
            km,
            "km",
            f"{_n(visits_avoided)} × {_n(km_per_visit, 1)} km = {_n(km)} km",
        ),
        Figure("co2_avoided", _("CO2 avoided"), co2, "kg", f"{_n(km)} km × {_n(co2_per_km, 3)} kg/km = {_n(co2)} kg"),
        Figure(
            "staff_cost_saved",
            _("Staff cost saved"),
            staff_cost,
            kr,
            f"{_n(hours)} h × {_n(hour_cost)} {kr}/h = {_n(staff_cost)} {kr}",
        ),
        Figure(
            "travel_cost_saved",
            _("Travel cost saved"),
            travel_cost,
            kr,
            f"{_n(km)} km × {_n(km_cost)} {kr}/km = {_n(travel_cost)} {kr}",
        ),
        Figure(
            "camera_cost",
            _("Camera cost"),
            camera_cost,
            kr,
            _("%(persons)s persons with camera supervision × %(cost)s %(kr)s × %(months)s month(s) = %(total)s %(kr)s")
            % {
                "persons": _n(camera_persons),
                "cost": _n(camera_month),
                "kr": kr,
                "months": months,
                "total": _n(camera_cost),
            },
        ),
        Figure(
            "net_cost",
            _("Net cost (negative: the municipality saves)"),
            net_cost,
            kr,
            f"{_n(camera_cost)} − {_n(staff_cost)} − {_n(travel_cost)} = {_n(net_cost)} {kr}",
        ),
    ]
