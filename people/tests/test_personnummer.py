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
