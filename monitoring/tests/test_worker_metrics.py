"""Each worker serves its own figures (tick time, what it did, failures) with the token."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime

import pytest
from django.db import OperationalError

from checks.engine import TickReport
from checks.management.commands.run_worker import WorkerLoop, WorkerMetrics
from nattillsyn.metrics_http import serve_metrics


class Worker:
    def __init__(self) -> None:
        self.fail = False

    def tick(self, now: datetime) -> TickReport:
        if self.fail:
            raise OperationalError("the database went away")
        report = TickReport()
        report.add("due", 3)
        return report


def get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@pytest.mark.django_db
def test_a_worker_serves_its_tick_figures_only_with_the_token() -> None:
    metrics = WorkerMetrics()
    worker = Worker()
    loop = WorkerLoop(worker, interval=0.01, metrics=metrics)
    loop.run_once()
    loop.run_once()
    worker.fail = True
    loop.run_once()
    server = serve_metrics("127.0.0.1:0", "worker-token", metrics.registry)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        status, text = get(url, "worker-token")
        assert status == 200
        assert "nattillsyn_worker_tick_seconds_count 2.0" in text
        assert 'nattillsyn_worker_items_total{step="due"} 6.0' in text
        assert 'nattillsyn_worker_tick_failures_total{cause="database"} 1.0' in text
        assert get(url, "wrong")[0] == 404
        assert get(url, "")[0] == 404
    finally:
        server.shutdown()
