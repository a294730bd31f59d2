"""The gateway's figures for Prometheus: views live, first-frame time, refusals.

Labels are refusal codes only: never a camera, grant or viewer (a label naming a camera
would tell the monitoring system whose home is being looked at, and when).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

FIRST_FRAME_BUCKETS_S = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


class _Counts(Collector):
    def describe(self) -> Iterator[Metric]:
        return iter(())  # the gateway is not ready at registration; the families come at scrape time

    def __init__(self, counts: Callable[[], dict[str, object]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        counts = self._counts()
        for key, name, documentation in (
            ("sessions", "nattillsyn_gateway_views_live", "Views being watched now."),
            ("readers", "nattillsyn_gateway_camera_readers", "Cameras being pulled now (views and readied checks)."),
            ("events_pending", "nattillsyn_gateway_events_pending", "View events not yet delivered."),
        ):
            family = GaugeMetricFamily(name, documentation)
            family.add_metric([], float(counts[key]))  # type: ignore[arg-type]
            yield family


class GatewayMetrics:
    def __init__(self, counts: Callable[[], dict[str, object]]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_Counts(counts))  # read at scrape time, not now
        self.first_frame_seconds = Histogram(
            "nattillsyn_gateway_first_frame_seconds",
            "From the viewer's offer to the first frame sent (what the operator waits for).",
            buckets=FIRST_FRAME_BUCKETS_S,
            registry=self.registry,
        )
        self.refused = Counter(
            "nattillsyn_gateway_views_refused",
            "Views the gateway refused, by code (grant_invalid, grant_refused, bad_offer …).",
            ["code"],
            registry=self.registry,
        )
