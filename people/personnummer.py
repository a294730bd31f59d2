"""Swedish personal identity numbers (personnummer) and coordination numbers."""

from __future__ import annotations

import re
from datetime import date

_PATTERN = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})[-+]?(\d{4})$")


class InvalidPersonnummer(ValueError):
    pass


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def normalize(raw: str, today: date) -> str:
    """Return the number as 12 digits (YYYYMMDDNNNC) or raise InvalidPersonnummer.

    Accepts YYYYMMDD-NNNC, YYMMDD-NNNC (a '+' means 100 years or older) and
    coordination numbers (day + 60). The last digit is a Luhn check digit over
    the 10-digit form.
    """
    text = raw.strip().replace(" ", "")
    match = _PATTERN.match(text)
    if not match:
        raise InvalidPersonnummer("format")
    century, yy, mm, dd, serial = match.groups()
    if not luhn_valid(f"{yy}{mm}{dd}{serial}"):
        raise InvalidPersonnummer("checksum")
    if century is None:
        year = today.year - (today.year - int(yy)) % 100
        if "+" in text:
            year -= 100
    else:
        year = int(century + yy)
    day = int(dd) - 60 if int(dd) > 60 else int(dd)
    try:
        born = date(year, int(mm), day)
    except ValueError as exc:
        raise InvalidPersonnummer("date") from exc
    if born > today:
        raise InvalidPersonnummer("date")
    return f"{year:04d}{mm}{dd}{serial}"


def is_coordination_number(normalized: str) -> bool:
    """A samordningsnummer: the day of birth plus 60."""
    return int(normalized[6:8]) > 60


def display(normalized: str) -> str:
    return f"{normalized[:8]}-{normalized[8:]}"
