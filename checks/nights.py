"""Nights in Europe/Stockholm time.

A night is named by the date on which it begins. Agreed times from 12:00 belong
to that date's evening, times before 12:00 to the next morning. Local times are
turned into UTC instants with zoneinfo; the fall-back night (02:00–03:00 happens
twice) takes the first 02:30.

The spring-forward night (02:00–03:00 does not exist) keeps every agreed time, as
distinct checks in the agreed order (``person_instants``):
1. a time in the skipped hour moves forward by the gap (02:30 → 03:30 summer time),
   the same time after the evening as on any other night;
2. should that reach the person's next agreed time (02:30 with 03:00 or 03:30
   agreed too), the skipped times are instead spread evenly, in whole minutes,
   between the person's check before them (at the earliest 01:00 winter time, the
   hour before the change) and the check after them;
3. without a free minute for each (01:59, 02:00 and 03:00 agreed), the agreement
   is refused when it is saved (``spring_forward_refusal``). An agreement saved
   before this rule is still planned in full, spread in seconds instead of minutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from nattillsyn.clock import STOCKHOLM

NIGHT_STARTS = time(12, 0)


class TimesCollide(ValueError):
    """Agreed times that cannot all be kept on a spring-forward night."""

    def __init__(self, night: date, skipped: list[time]) -> None:
        super().__init__(f"{night}: no free minute for {', '.join(f'{t:%H:%M}' for t in skipped)}")
        self.night = night
        self.skipped = skipped


def night_of(moment: datetime) -> date:
    local = moment.astimezone(STOCKHOLM)
    return local.date() if local.time() >= NIGHT_STARTS else local.date() - timedelta(days=1)


def _local(night: date, agreed: time) -> datetime:
    day = night if agreed >= NIGHT_STARTS else night + timedelta(days=1)
    return datetime.combine(day, agreed).replace(tzinfo=STOCKHOLM)


def scheduled_instant(night: date, agreed: time) -> datetime:
    """The instant of one agreed time; a time in a spring-forward gap moves forward by it."""
    # Round-trip through UTC normalises a non-existent local time (spring forward).
    return _local(night, agreed).astimezone(UTC)


def night_bounds(night: date) -> tuple[datetime, datetime]:
    start = datetime.combine(night, NIGHT_STARTS).replace(tzinfo=STOCKHOLM)
    end = datetime.combine(night + timedelta(days=1), NIGHT_STARTS).replace(tzinfo=STOCKHOLM)
    return start.astimezone(UTC), end.astimezone(UTC)


@lru_cache(maxsize=64)
def clock_gap(night: date) -> tuple[datetime, timedelta] | None:
    """The instant the clocks jump forward during ``night`` and by how much, or None
    on every night but the spring-forward one."""
    start, end = night_bounds(night)
    gap = timedelta(hours=24) - (end - start)
    if gap <= timedelta(0):
        return None
    moment = start
    while moment < end:  # hour by hour: the jump is on a whole hour in Sweden
        following = moment + timedelta(hours=1)
        if following.astimezone(STOCKHOLM).utcoffset() != moment.astimezone(STOCKHOLM).utcoffset():
            return following, gap
        moment = following
    return None


def is_skipped(night: date, agreed: time) -> bool:
    """``agreed`` does not exist on ``night``'s clock (it lies in the spring-forward gap)."""
    local = _local(night, agreed)
    return local.astimezone(UTC).astimezone(STOCKHOLM).replace(tzinfo=None) != local.replace(tzinfo=None)


def person_instants(night: date, times: Iterable[time], *, strict: bool = False) -> dict[time, datetime]:
    """The instants of one person's agreed times on ``night``: distinct, in agreed order.

    The rule is the module's docstring. With ``strict``, times without a free whole
    minute raise TimesCollide (agreement time); without, they are spread in seconds
    (planning, which must never drop a check).
    """
    instants = {agreed: scheduled_instant(night, agreed) for agreed in times}
    gap = clock_gap(night)
    if gap is None:
        return instants
    jump, length = gap
    skipped = sorted((agreed for agreed in instants if is_skipped(night, agreed)), key=lambda t: _local(night, t))
    if not skipped:
        return instants
    kept = [instants[agreed] for agreed in instants if agreed not in skipped]
    following = min((moment for moment in kept if moment >= jump), default=None)
    if following is None or instants[skipped[-1]] < following:
        return instants  # forward by the gap keeps them in order
    earliest = jump - length
    low = max((moment for moment in kept if moment < jump), default=earliest)
    low = max(low, earliest)
    step = (following - low) / (len(skipped) + 1)
    if step >= timedelta(minutes=1):
        step = timedelta(minutes=step // timedelta(minutes=1))
    elif strict:
        raise TimesCollide(night, skipped)
    for index, agreed in enumerate(skipped, start=1):
        instants[agreed] = low + index * step
    return instants


def next_spring_forward_night(after: date) -> date | None:
    """The first night from ``after`` on whose clock an hour is skipped (within a year)."""
    for offset in range(370):
        night = after + timedelta(days=offset)
        if clock_gap(night) is not None:
            return night
    return None


def spring_forward_refusal(times: Iterable[time], today: date) -> TimesCollide | None:
    """Why these agreed times cannot all be kept on the next spring-forward night, if so.

    The gap is the same hour every year, so the next such night stands for all of them.
    """
    night = next_spring_forward_night(today)
    if night is None:
        return None
    try:
        person_instants(night, times, strict=True)
    except TimesCollide as collision:
        return collision
    return None
