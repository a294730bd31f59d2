"""Agreed local times across the Europe/Stockholm daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from checks.nights import night_bounds, night_of, scheduled_instant


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_it_keeps_local_times_on_an_ordinary_winter_night() -> None:
    assert scheduled_instant(date(2026, 11, 23), time(23, 0)) == utc(2026, 11, 23, 22, 0)
    assert scheduled_instant(date(2026, 11, 23), time(2, 0)) == utc(2026, 11, 24, 1, 0)


def test_it_keeps_local_times_on_a_summer_night() -> None:
    assert scheduled_instant(date(2026, 6, 20), time(23, 0)) == utc(2026, 6, 20, 21, 0)
    assert scheduled_instant(date(2026, 6, 20), time(5, 0)) == utc(2026, 6, 21, 3, 0)


def test_spring_forward_moves_a_non_existent_time_forward() -> None:
    # 2026-03-29: clocks go 02:00 → 03:00. 02:30 does not exist; the check is at 03:30 CEST.
    instant = scheduled_instant(date(2026, 3, 28), time(2, 30))
    assert instant == utc(2026, 3, 29, 1, 30)
    assert scheduled_instant(date(2026, 3, 28), time(23, 0)) == utc(2026, 3, 28, 22, 0)
    assert scheduled_instant(date(2026, 3, 28), time(5, 0)) == utc(2026, 3, 29, 3, 0)


def test_fall_back_takes_the_first_of_a_repeated_time() -> None:
    # 2026-10-25: clocks go 03:00 → 02:00. 02:30 happens twice; the check is at the first.
    assert scheduled_instant(date(2026, 10, 24), time(2, 30)) == utc(2026, 10, 25, 0, 30)
    assert scheduled_instant(date(2026, 10, 24), time(5, 0)) == utc(2026, 10, 25, 4, 0)


def test_the_fall_back_night_is_25_hours_and_the_spring_night_23() -> None:
    start, end = night_bounds(date(2026, 10, 24))
    assert (end - start).total_seconds() == 25 * 3600
    start, end = night_bounds(date(2026, 3, 28))
    assert (end - start).total_seconds() == 23 * 3600


def test_night_of_switches_at_noon_local_time() -> None:
    assert night_of(utc(2026, 11, 24, 10, 59)) == date(2026, 11, 23)  # 11:59 local
    assert night_of(utc(2026, 11, 24, 11, 0)) == date(2026, 11, 24)  # 12:00 local
    assert night_of(utc(2026, 6, 21, 9, 59)) == date(2026, 6, 20)  # 11:59 CEST
