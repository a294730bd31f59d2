"""Per-unit counts of a month's nights: from the tallies of settled nights, the rest live.

Counting on time needs every camera check of a month joined with its attempts, about a
million rows for 10,000 persons, which alone takes a second or more. A night's ended
checks never change again (checks.actions only moves open checks), so once a night is
settled its counts are kept in NightTally / NightViewTally and read back.

1. The caller counts every night's checks by state and form (cheap, read in index order)
   and passes them in: that is each night's fingerprint.
2. A night is settled when none of its checks is open and a day has passed since it ended
   (so late view events and visit results are in).
3. A settled night whose stored tally has the same fingerprint is read back; one without
   a tally, or whose checks no longer add up (something changed after all), is counted
   again and stored.
4. Nights not yet settled (tonight, yesterday) are counted live and not stored.

A person's checks count for the unit the person had when the night was tallied.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.db.models.functions import TruncHour

from accounts.models import Tenant
from cameras.models import GrantPurpose, ViewGrant
from checks.models import OPEN_CHECK_STATES, Attempt, Check, CheckForm
from checks.nights import night_bounds, night_of
from reports.counting import ON_TIME_WITHIN, OPENED_NOT_BEFORE, PUNCTUALITY_BASE, analytic_queries, planner_setting
from reports.models import NightTally, NightViewTally

SETTLED_AFTER = timedelta(days=1)

Fingerprint = Counter  # (state, form) -> checks


def is_settled(night: date, fingerprint: Fingerprint, now: datetime) -> bool:
    ended = night_bounds(night)[1]
    return ended + SETTLED_AFTER <= now and not any(
        state in OPEN_CHECK_STATES for (state, _form), n in fingerprint.items() if n
    )


def _fingerprint(rows: Iterable[NightTally]) -> Fingerprint:
    counts: Fingerprint = Counter()
    for row in rows:
        counts[(row.state, row.form)] += row.checks
    return counts


def tally_settled_nights(tenant: Tenant, first: date, end: date, *, now: datetime) -> int:
    """Tally the settled nights first … end (exclusive) that have no valid tally yet, ahead
    of the first render (manage.py tally_nights). Returns the number of nights looked at."""
    fingerprints: dict[date, Fingerprint] = defaultdict(Counter)
    for row in (
        Check.objects.filter(tenant=tenant, night__gte=first, night__lt=end)
        .order_by()
        .values("night", "state", "form")
        .annotate(n=Count("id"))
    ):
        fingerprints[row["night"]][(row["state"], row["form"])] += row["n"]
    night_counts(tenant, fingerprints, now=now, count_live=False)
    return len(fingerprints)


# How far back the daily tally looks: a month and the days a late change may take.
TALLY_LOOKBACK = timedelta(days=40)


def tally_recent_nights(now: datetime, *, since: date | None = None) -> int:
    """Tally every municipality's settled nights since ``since`` (default 40 nights back).

    The worker calls this once a day, after reconciling last night, so a monthly report
    is read from tallies instead of counted at its first render.
    """
    end = night_of(now) + timedelta(days=1)
    first = since or end - TALLY_LOOKBACK
    looked_at = 0
    for tenant in Tenant.objects.all():
        with analytic_queries():
            looked_at += tally_settled_nights(tenant, first, end, now=now)
    return looked_at


def night_counts(
    tenant: Tenant, fingerprints: dict[date, Fingerprint], *, now: datetime, count_live: bool = True
) -> tuple[list[NightTally], list[NightViewTally]]:
    """Per unit, night, state, form and end reason: the month's check counts, and its views."""
    settled = sorted(night for night, counts in fingerprints.items() if is_settled(night, counts, now))
    rows: list[NightTally] = []
    views: list[NightViewTally] = []
    if settled:
        stored: dict[date, list[NightTally]] = defaultdict(list)
        for row in NightTally.objects.filter(tenant=tenant, night__in=settled):
            stored[row.night].append(row)
        stale = [night for night in settled if +_fingerprint(stored[night]) != +fingerprints[night]]
        fresh = [night for night in settled if night not in stale]
        for night in fresh:
            rows.extend(stored[night])
        if fresh:
            views.extend(NightViewTally.objects.filter(tenant=tenant, night__in=fresh))
        if stale:
            counted, counted_views = count_nights(tenant, stale)
            _store(tenant, stale, counted, counted_views)
            rows.extend(counted)
            views.extend(counted_views)
    live = sorted(night for night in fingerprints if night not in settled)
    if live and count_live:
        counted, counted_views = count_nights(tenant, live)
        rows.extend(counted)
        views.extend(counted_views)
    return rows, views


@transaction.atomic
def _store(tenant: Tenant, nights: list[date], rows: list[NightTally], views: list[NightViewTally]) -> None:
    # The tenant's row is locked so two first renders of a month do not both write;
    # delete-then-insert leaves exactly one tally per night either way.
    list(Tenant.objects.select_for_update().filter(id=tenant.id).values_list("id", flat=True))
    NightTally.objects.filter(tenant=tenant, night__in=nights).delete()
    NightViewTally.objects.filter(tenant=tenant, night__in=nights).delete()
    NightTally.objects.bulk_create(rows, batch_size=2000)
    NightViewTally.objects.bulk_create(views, batch_size=2000)


def count_nights(tenant: Tenant, nights: list[date]) -> tuple[list[NightTally], list[NightViewTally]]:
    """Count the given nights from the checks, attempts and view grants (three queries)."""
    start, stop = night_bounds(min(nights))[0], night_bounds(max(nights))[1]
    checks = Check.objects.filter(tenant=tenant, night__in=nights).order_by()
    key = ("person__unit", "night", "state", "form", "end_reason")
    tallies: dict[tuple, NightTally] = {}
    for row in checks.values(*key).annotate(
        n=Count("id"),
        retried=Count("id", filter=Q(not_visible_count__gte=1)),
        faulty=Count("id", filter=~Q(camera_fault="")),
    ):
        tallies[tuple(row[name] for name in key)] = NightTally(
            tenant=tenant, night=row["night"], unit=row["person__unit"], state=row["state"], form=row["form"],
            end_reason=row["end_reason"], checks=row["n"], retried=row["retried"], faulty=row["faulty"], on_time=0,
        )  # fmt: skip

    # On time: a hash semi-join of the camera checks with the attempts of these nights.
    # The planner guesses ~40 times too few rows here and would sort ~450,000 of them for a
    # month; hashing them is what a grouped count wants.
    on_time = Attempt.objects.filter(
        night_check=OuterRef("pk"),
        opened_at__gte=start - OPENED_NOT_BEFORE,
        opened_at__lt=stop + ON_TIME_WITHIN,
        opened_at__lte=OuterRef("scheduled_at") + ON_TIME_WITHIN,
    )
    with planner_setting("enable_sort", "off"):
        punctual = list(
            checks.filter(PUNCTUALITY_BASE)
            .filter(Exists(on_time))
            .values("person__unit", "night", "state", "end_reason")
            .annotate(n=Count("id"))
        )
    for row in punctual:
        unit_key = (row["person__unit"], row["night"], row["state"], CheckForm.CAMERA, row["end_reason"])
        tallies[unit_key].on_time += row["n"]

    # Views by the hour they began (UTC, cheap to group by), put in their night here. A
    # view belongs to the night in which it was opened.
    view_time = ExpressionWrapper(F("ended_at") - F("first_frame_at"), output_field=DurationField())
    wanted = set(nights)
    views: dict[tuple[str, date], NightViewTally] = {}
    for row in (
        ViewGrant.objects.filter(
            tenant=tenant,
            purpose=GrantPurpose.CHECK,
            issued_at__gte=start,
            issued_at__lt=stop,
            first_frame_at__isnull=False,
            ended_at__isnull=False,
        )
        .order_by()
        .values("person__unit", hour=TruncHour("issued_at", tzinfo=UTC))
        .annotate(views=Count("id"), view_time=Sum(view_time))
    ):
        night = night_of(row["hour"])
        if night not in wanted:
            continue
        unit = row["person__unit"] or ""
        tally = views.setdefault((unit, night), NightViewTally(
            tenant=tenant, night=night, unit=unit, views=0, view_time=timedelta(0)))  # fmt: skip
        tally.views += row["views"]
        tally.view_time += row["view_time"] or timedelta(0)
    return list(tallies.values()), list(views.values())
