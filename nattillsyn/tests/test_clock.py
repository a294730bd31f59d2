"""The test clock moves in absolute time and tells it in UTC, as the real clock does, also
across the daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nattillsyn.clock import STOCKHOLM, FakeClock


def local(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%H:%M %Z")


def test_it_advances_through_the_spring_change_without_skipping() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST; an hour after 01:30 is 03:30 local.
    fake = FakeClock(datetime(2026, 3, 29, 1, 30, tzinfo=STOCKHOLM))
    assert fake.advance(hours=1) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert local(fake()) == "03:30 CEST"
    fake.set(datetime(2026, 3, 29, 1, 50, tzinfo=STOCKHOLM))
    seen = [fake()]
    for _ in range(6):
        seen.append(fake.advance(minutes=5))
    assert [(later - earlier).total_seconds() for earlier, later in zip(seen, seen[1:], strict=False)] == [300] * 6
    assert local(fake()) == "03:20 CEST"


def test_it_advances_through_the_autumn_change_without_running_backwards() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    fake = FakeClock(datetime(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM))  # the first 02:30 (CEST)
    before = fake()
    after = fake.advance(minutes=45)
    assert (after - before).total_seconds() == 45 * 60
    assert after == datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    assert local(after) == "02:15 CET"


def test_it_tells_the_time_in_utc_as_the_real_clock_does() -> None:
    """Code that adds to "now" must do here what it does in production: on the autumn
    night's second 02:04, five minutes on is 02:09 CET, not 02:09 CEST (an hour back),
    which a Stockholm-zoned "now" would give (the domain model found a preparation that
    ended before it began)."""
    fake = FakeClock(datetime(2026, 10, 25, 1, 4, tzinfo=UTC))  # 02:04 CET, the second one
    assert fake().tzinfo is UTC
    assert local(fake() + timedelta(minutes=5)) == "02:09 CET"
    wall_clock = fake().astimezone(STOCKHOLM) + timedelta(minutes=5)  # what the old clock did
    assert wall_clock.astimezone(UTC) < fake()
    fake.set(datetime(2026, 11, 23, 21, 0, tzinfo=STOCKHOLM))
    assert fake().tzinfo is UTC and local(fake()) == "21:00 CET"
