"""When a decision or a consent stands: one definition each, as instants and as ORM filters.

Each kind of record stands over one span of time, ``[start, end)``, made here from its
fields (``decision_span``, ``consent_span``, ``co_resident_consent_span``). Everything
else is asked of that span: the model's own ``covers``/``is_valid_at``, the planner's
facts about many persons (``checks.actions.planning_facts``), how long a view may last
(``held_until``), whether a night is steady (``boundaries_within``), and the ORM filters
the agreement and the console ask of the database (``decisions_valid_at`` …), which
``people/tests/test_validity.py`` proves equal to the instants for generated records.

Dates are Swedish calendar days: a decision "valid to 3 March" stands until midnight
after 3 March in Sweden, whatever the server's zone (``nattillsyn.clock.day_starts``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.db.models import Q

from nattillsyn.clock import day_of, day_starts


class Span(NamedTuple):
    """``[start, end)``; no end: it stands until something ends it."""

    start: datetime
    end: datetime | None

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


def decision_span(valid_from: date, valid_to: date | None) -> Span:
    """A decision: from its first day's midnight to the midnight after its last day."""
    return Span(day_starts(valid_from), None if valid_to is None else day_starts(valid_to + timedelta(days=1)))


def consent_span(given_at: datetime, withdrawn_at: datetime | None, valid_until: date | None) -> Span:
    """The person's consent: from when it was given until it is withdrawn or its trial
    period's last day is over, whichever comes first."""
    ends = [withdrawn_at] if withdrawn_at is not None else []
    if valid_until is not None:
        ends.append(day_starts(valid_until + timedelta(days=1)))
    return Span(given_at, min(ends) if ends else None)


def co_resident_consent_span(given_at: datetime, withdrawn_at: datetime | None) -> Span:
    """A co-resident's consent has no trial period: it stands until withdrawn."""
    return Span(given_at, withdrawn_at)


def held_until(spans: Iterable[Span], moment: datetime) -> datetime | None:
    """The end of the run of overlapping or touching spans that holds ``moment``:
    ``moment`` itself if none does, None if the run never ends."""
    spans = list(spans)
    reached = moment
    while True:
        ends = [span.end for span in spans if span.holds(reached)]
        if not ends:
            return reached
        if None in ends:
            return None
        reached = max(end for end in ends if end is not None)


def boundaries_within(spans: Iterable[Span], start: datetime, end: datetime) -> bool:
    """Does any span begin or end strictly inside ``(start, end)``? If not, whether each
    holds is the same at every instant of ``[start, end)``."""
    return any(boundary is not None and start < boundary < end for span in spans for boundary in (span.start, span.end))


# The ORM forms. Each is the span's ``holds`` written as a filter on the model's fields.


def decisions_valid_at(moment: datetime) -> Q:
    """Decisions whose span holds ``moment``."""
    day = day_of(moment)
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))


def decisions_not_ended_at(moment: datetime) -> Q:
    """Decisions that stand at ``moment`` or later (an agreement's times need one)."""
    return Q(valid_to__isnull=True) | Q(valid_to__gte=day_of(moment))


def consents_valid_at(moment: datetime) -> Q:
    """The person's consents whose span holds ``moment``."""
    return (
        Q(given_at__lte=moment)
        & (Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=moment))
        & (Q(valid_until__isnull=True) | Q(valid_until__gte=day_of(moment)))
    )


def co_resident_consents_valid_at(moment: datetime) -> Q:
    """Co-residents' consents whose span holds ``moment``."""
    return Q(given_at__lte=moment) & (Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=moment))
