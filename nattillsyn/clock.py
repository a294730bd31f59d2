"""The one source of "now" for the control plane and the worker.

Tests and the simulated-night benchmark replace it with a fake clock, so a whole
night can be driven without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

STOCKHOLM = ZoneInfo("Europe/Stockholm")

_now_provider: Callable[[], datetime] = timezone.now


def now() -> datetime:
    return _now_provider()


def today() -> date:
    """Today's date in Sweden: the one "today" of the control plane and the worker."""
    return day_of(now())


def day_of(moment: datetime) -> date:
    """The Swedish calendar date of an aware moment."""
    return moment.astimezone(STOCKHOLM).date()


def day_starts(day: date) -> datetime:
    """Midnight at the start of a Swedish calendar day. It exists on every day: the
    clocks change at 02:00 and 03:00."""
    return datetime.combine(day, time(0), tzinfo=STOCKHOLM)


def set_now_provider(provider: Callable[[], datetime]) -> None:
    global _now_provider
    _now_provider = provider


def reset() -> None:
    set_now_provider(timezone.now)


class FakeClock:
    """A clock that only moves when told to.

    It tells the time in UTC, as the real clock (``django.utils.timezone.now``) does,
    whatever zone it was set in: aware arithmetic in Europe/Stockholm adds wall-clock
    time, so ``now + 5 min`` on the autumn night's second 02:04 would be 00:09 UTC, an
    hour back (the domain model found a preparation that ended before it began). Code
    that adds to "now" must behave here as it does in production. ``advance`` adds
    absolute time for the same reason.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.current = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current = self.current + timedelta(**kwargs)
        return self.current

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.current = moment.astimezone(UTC)


class OffsetClock:
    """Real time plus an offset that tests move forward.

    For end-to-end tests where another process (the gateway) checks grant times
    against its own real clock: the control plane can jump to a retry without
    sleeping, while the first view still happens in real time.
    """

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return timezone.now() + self.offset

    def advance(self, **kwargs: float) -> datetime:
        self.offset += timedelta(**kwargs)
        return self()
