"""The test clock moves in absolute time, also across the daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

from nattillsyn.clock import STOCKHOLM, FakeClock


def test_it_advances_through_the_spring_change_without_skipping() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST; an hour after 01:30 is 03:30 local.
    fake = FakeClock(datetime(2026, 3, 29, 1, 30, tzinfo=STOCKHOLM))
    assert fake.advance(hours=1) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert fake().strftime("%H:%M %Z") == "03:30 CEST"
    fake.set(datetime(2026, 3, 29, 1, 50, tzinfo=STOCKHOLM))
    # Compared in UTC: a difference of two times in one zone is wall-clock too.
    seen = [fake().astimezone(UTC)]
    for _ in range(6):
        seen.append(fake.advance(minutes=5).astimezone(UTC))
    assert [(later - earlier).total_seconds() for earlier, later in zip(seen, seen[1:], strict=False)] == [300] * 6
    assert fake().strftime("%H:%M %Z") == "03:20 CEST"


def test_it_advances_through_the_autumn_change_without_running_backwards() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    fake = FakeClock(datetime(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM))  # the first 02:30 (CEST)
    before = fake()
    after = fake.advance(minutes=45)
    # In UTC: Python compares two times of one zone by their wall-clock reading.
    assert after.astimezone(UTC) > before.astimezone(UTC)
    assert (after.astimezone(UTC) - before.astimezone(UTC)).total_seconds() == 45 * 60
    assert after.astimezone(UTC) == datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    assert after.strftime("%H:%M %Z") == "02:15 CET"


def test_it_keeps_the_zone_it_was_given() -> None:
    fake = FakeClock(datetime(2026, 11, 23, 21, 0, tzinfo=STOCKHOLM))
    assert fake.advance(minutes=1).tzinfo is STOCKHOLM
