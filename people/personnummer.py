"""Swedish personal identity numbers (personnummer) and coordination numbers."""

from __future__ import annotations

import re
from datetime import date

from nattillsyn import clock

_PATTERN = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)(\d{4})$")
# Nobody registered for care is older; an older date is a typing error (or a '+' too many).
OLDEST_AGE = 130


class InvalidPersonnummer(ValueError):
    pass


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def normalize(raw: str, today: date | None = None) -> str:
    """Return the number as 12 digits (YYYYMMDDNNNC) or raise InvalidPersonnummer.

    Accepts YYYYMMDD-NNNC (the century given) and YYMMDD-NNNC, whose sign gives the
    century as the Swedish Tax Agency writes it (folkbokföringslagen 18 §):
    1. ``-`` (or none): under 100 years old on ``today``, so a 99-year-old whose
       birthday is still to come this year is born 100 years ago, not this year;
    2. ``+``: 100 or older. The Tax Agency changes the sign at the start of the year
       one turns 100, so a ``+`` also reads as someone turning 100 later this year.
    A date of birth after ``today``, or more than OLDEST_AGE years before it, is refused.
    Coordination numbers (samordningsnummer) carry the day + 60. The last digit is a
    Luhn check digit over the 10-digit form. ``today`` defaults to the injected clock's
    Swedish date.
    """
    if today is None:
        today = clock.today()
    text = raw.strip().replace(" ", "")
    match = _PATTERN.match(text)
    if not match:
        raise InvalidPersonnummer("format")
    century, yy, mm, dd, sign, serial = match.groups()
    if not luhn_valid(f"{yy}{mm}{dd}{serial}"):
        raise InvalidPersonnummer("checksum")
    day = int(dd) - 60 if int(dd) > 60 else int(dd)
    if century is not None:
        year = int(century + yy)
    elif sign == "+":
        latest = today.year - 100
        year = latest - (latest - int(yy)) % 100
    else:
        # The latest year with these two digits whose date is not after today: under 100.
        year = today.year - (today.year - int(yy)) % 100
        if (int(mm), day) > (today.month, today.day) and year == today.year:
            year -= 100
    try:
        born = date(year, int(mm), day)
    except ValueError as exc:
        raise InvalidPersonnummer("date") from exc
    if born > today:
        raise InvalidPersonnummer("date")
    if _age(born, today) > OLDEST_AGE:
        raise InvalidPersonnummer("age")
    return f"{year:04d}{mm}{dd}{serial}"


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def is_coordination_number(normalized: str) -> bool:
    """A samordningsnummer: the day of birth plus 60."""
    return int(normalized[6:8]) > 60


def display(normalized: str) -> str:
    return f"{normalized[:8]}-{normalized[8:]}"
