from datetime import date

import pytest

from people.personnummer import InvalidPersonnummer, normalize

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("raw", ["19400101-9803", "194001019803", "400101-9803", "4001019803"])
def test_it_accepts_the_usual_ways_of_writing_a_number(raw: str) -> None:
    assert normalize(raw, TODAY) == "194001019803"


def test_it_rejects_a_wrong_check_digit() -> None:
    with pytest.raises(InvalidPersonnummer, match="checksum"):
        normalize("19400101-9804", TODAY)


@pytest.mark.parametrize("raw", ["1940-01-01-9803", "abc", "19400101-98", ""])
def test_it_rejects_malformed_numbers(raw: str) -> None:
    with pytest.raises(InvalidPersonnummer, match="format"):
        normalize(raw, TODAY)


def test_it_rejects_impossible_dates() -> None:
    # 1940-02-30 with a check digit that would otherwise pass
    from people.personnummer import luhn_valid

    serial = next(f"980{d}" for d in range(10) if luhn_valid(f"400230980{d}"))
    with pytest.raises(InvalidPersonnummer, match="date"):
        normalize(f"19400230-{serial}", TODAY)


def test_it_reads_a_plus_as_a_centenarian() -> None:
    from people.personnummer import luhn_valid

    serial = next(f"980{d}" for d in range(10) if luhn_valid(f"231224980{d}"))
    assert normalize(f"231224+{serial}", TODAY).startswith("1923")
    assert normalize(f"231224-{serial}", TODAY).startswith("2023")


def test_it_accepts_coordination_numbers() -> None:
    from people.personnummer import luhn_valid

    serial = next(f"980{d}" for d in range(10) if luhn_valid(f"400161980{d}"))  # day 01 + 60
    assert normalize(f"19400161-{serial}", TODAY) == f"19400161{serial}"


def _serial(yymmdd: str) -> str:
    from people.personnummer import luhn_valid

    return next(f"123{d}" for d in range(10) if luhn_valid(f"{yymmdd}123{d}"))


def test_it_reads_a_99_year_old_whose_birthday_is_still_to_come() -> None:
    # Born 1926-12-01, read on 2026-03-01: 99 years old, so a '-' (not born in 2026).
    assert normalize("261201-1235", date(2026, 3, 1)) == "192612011235"
    assert normalize("2612011235", date(2026, 3, 1)) == "192612011235"


def test_it_reads_a_plus_in_the_year_one_turns_100() -> None:
    # The Tax Agency writes the '+' from the start of the year one turns 100.
    assert normalize("261201+1235", date(2026, 3, 1)) == "192612011235"
    assert normalize("260201+" + _serial("260201"), date(2026, 3, 1)).startswith("1926")


def test_it_reads_a_dash_as_under_100_on_the_day() -> None:
    # Born 1927-03-02 (99 tomorrow's eve) and 2026-02-01 (a baby), read on 2026-03-01.
    assert normalize("270302-" + _serial("270302"), date(2026, 3, 1)).startswith("1927")
    assert normalize("260201-" + _serial("260201"), date(2026, 3, 1)).startswith("2026")


def test_it_refuses_an_age_over_130() -> None:
    with pytest.raises(InvalidPersonnummer, match="age"):
        normalize("400101+" + _serial("400101"), date(2026, 3, 1))  # born 1840
    with pytest.raises(InvalidPersonnummer, match="age"):
        normalize("18950101-" + _serial("950101"), date(2026, 3, 1))
    assert normalize("18960301-" + _serial("960301"), date(2026, 3, 1)).startswith("1896")  # 130 today


def test_it_refuses_a_birth_date_in_the_future() -> None:
    with pytest.raises(InvalidPersonnummer, match="date"):
        normalize("20260302-" + _serial("260302"), date(2026, 3, 1))
    assert normalize("20260301-" + _serial("260301"), date(2026, 3, 1)).startswith("2026")


def test_it_reads_a_coordination_number_by_its_real_day() -> None:
    # Day 61 + 60: born 1926-12-01, a 99-year-old's coordination number.
    assert normalize("261261-" + _serial("261261"), date(2026, 3, 1)) == "19261261" + _serial("261261")
    with pytest.raises(InvalidPersonnummer, match="date"):
        normalize("20260362-" + _serial("260362"), date(2026, 3, 1))  # 2 March, tomorrow


def test_it_reads_today_from_the_injected_clock(fake_clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from nattillsyn import clock

    fake_clock.set(datetime(2026, 3, 1, 0, 30, tzinfo=clock.STOCKHOLM))  # still 28 February in UTC
    assert normalize("261201-1235") == "192612011235"
    assert normalize("20260301-" + _serial("260301")).startswith("2026")
