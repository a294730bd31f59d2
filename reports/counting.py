"""What the monthly figures and the nightly tallies both count by, and how their big
queries run: one module both import, so neither imports the other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q

from checks.models import CheckForm, CheckState

# On time = the first attempt opened within 5 minutes of the agreed time (issue 6).
# Opening early (the console allows 5 minutes before) also counts as on time.
ON_TIME_WITHIN = timedelta(minutes=5)
ENDED = (CheckState.DONE, CheckState.ESCALATED)

# Camera checks whose punctuality counts: ended, and not escalated beforehand because
# the worker's probe found the camera faulty (nobody could have opened those).
PUNCTUALITY_BASE = Q(form=CheckForm.CAMERA, state__in=ENDED, camera_fault="")


# An attempt cannot be opened more than 5 minutes before its check's time
# (cameras.policy.EARLY_OPEN); an hour's margin bounds the month's attempts safely.
OPENED_NOT_BEFORE = timedelta(hours=1)


@contextmanager
def analytic_queries() -> Iterator[None]:
    """Settings for the few big aggregate queries of a month, on PostgreSQL only.

    JIT compilation costs seconds on queries the planner thinks large and saves
    nothing here; a larger work_mem lets the groups be hashed instead of sorted on disk.
    SET LOCAL ends with the transaction, so no other query is affected.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


@contextmanager
def planner_setting(name: str, value: str) -> Iterator[None]:
    """One planner setting for the queries inside, within analytic_queries (PostgreSQL)."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL {name} = {value}")
        try:
            yield
        finally:
            cursor.execute(f"SET LOCAL {name} = DEFAULT")
