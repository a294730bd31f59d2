"""Nights in Europe/Stockholm time.

A night is named by the date on which it begins. Agreed times from 12:00 belong
to that date's evening, times before 12:00 to the next morning. Local times are
turned into UTC instants with zoneinfo, so the spring-forward night (02:00–03:00
does not exist) moves a 02:30 check to 03:30, and the fall-back night (02:00–03:00
happens twice) takes the first 02:30.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from nattillsyn.clock import STOCKHOLM

NIGHT_STARTS = time(12, 0)


def night_of(moment: datetime) -> date:
    local = moment.astimezone(STOCKHOLM)
    return local.date() if local.time() >= NIGHT_STARTS else local.date() - timedelta(days=1)


def scheduled_instant(night: date, agreed: time) -> datetime:
    day = night if agreed >= NIGHT_STARTS else night + timedelta(days=1)
    local = datetime.combine(day, agreed).replace(tzinfo=STOCKHOLM)
    # Round-trip through UTC normalises a non-existent local time (spring forward).
    return local.astimezone(UTC)


def night_bounds(night: date) -> tuple[datetime, datetime]:
    start = datetime.combine(night, NIGHT_STARTS).replace(tzinfo=STOCKHOLM)
    end = datetime.combine(night + timedelta(days=1), NIGHT_STARTS).replace(tzinfo=STOCKHOLM)
    return start.astimezone(UTC), end.astimezone(UTC)
