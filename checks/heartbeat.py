"""Is the worker alive? Read by the shift lead's page and by /health for an external monitor."""

from __future__ import annotations

from datetime import timedelta

from checks.models import WorkerHeartbeat
from nattillsyn import clock

# The worker ticks every two seconds; silent this long, it is down or stuck.
WORKER_SILENT_AFTER = timedelta(minutes=2)


def worker_is_silent() -> bool:
    newest = WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    return newest is None or newest < clock.now() - WORKER_SILENT_AFTER
