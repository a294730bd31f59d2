"""The control plane's /metrics: tonight's figures per municipality for Prometheus, only
with the monitoring token, never a person in a label, valid exposition format."""

from __future__ import annotations

import shutil
import subprocess
from datetime import time

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from audit.models import AuditAction, AuditEntry
from checks.engine import NightWorker
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db

TOKEN = "monitoring-token-for-tests"


@pytest.fixture(autouse=True)
def _token(settings: object) -> None:
    settings.METRICS_TOKEN = TOKEN  # type: ignore[attr-defined]


def scrape(token: str = TOKEN) -> tuple[int, str]:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    return response.status_code, response.content.decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_it_counts_tonights_checks_and_the_overdue_per_municipality(
    home: Municipality, outsider: Municipality, fake_clock: FakeClock
) -> None:
    make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0], times=[time(22), time(2)])
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 0))
    NightWorker("w1").tick(fake_clock())
    fake_clock.set(at_stockholm(2026, 11, 23, 22, 30))  # past the 10 min grace, nobody opened it
    status, text = scrape()
    assert status == 200
    found = samples(text)
    assert found[("nattillsyn_checks", (("state", "due"), ("tenant", "nattby")))] == 1
    assert found[("nattillsyn_checks", (("state", "planned"), ("tenant", "nattby")))] == 1
    assert found[("nattillsyn_checks_overdue", (("tenant", "nattby"),))] == 1
    assert found[("nattillsyn_checks_overdue", (("tenant", "grannby"),))] == 0
    assert found[("nattillsyn_worker_last_tick_age_seconds", (("worker", "w1"),))] == 30 * 60
    assert found[("nattillsyn_worker_lag_seconds", ())] == 0
    # The same night with the worker gone: the 02:00 check's time comes and nobody makes it due.
    fake_clock.set(at_stockholm(2026, 11, 24, 2, 5))
    assert samples(scrape()[1])[("nattillsyn_worker_lag_seconds", ())] == 300


def test_it_shows_no_person_and_no_user(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0], times=[time(21)])
    NightWorker("w1").tick(fake_clock())
    text = scrape()[1]
    labels = {
        value for family in text_string_to_metric_families(text) for s in family.samples for value in s.labels.values()
    }
    assert labels <= {"nattby", "grannby", "due", "planned", "w1", "+Inf"} | {
        str(float(b)) for b in (30, 60, 120, 300, 600, 900, 1800)
    }
    for personal in (person.name, person.personnummer, "Andersson", home.user("operator").username):
        assert personal not in text


def test_it_is_not_there_without_the_token(home: Municipality, settings: object) -> None:
    assert scrape("wrong")[0] == 404
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_REFUSED).count() == 1  # a probe is a refusal
    settings.METRICS_TOKEN = ""  # type: ignore[attr-defined]
    assert scrape("")[0] == 404  # not configured: no endpoint at all


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) not installed")
def test_promtool_accepts_the_exposition(home: Municipality, fake_clock: FakeClock) -> None:
    make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0], times=[time(21)])
    NightWorker("w1").tick(fake_clock())
    result = subprocess.run(["promtool", "check", "metrics"], input=scrape()[1], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_shows_each_listed_gateways_heartbeat_age(fake_clock: FakeClock) -> None:
    from datetime import timedelta

    from cameras.models import Gateway

    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    Gateway.objects.create(gateway_id="gw1", site="nord", public_url="https://gw1.example.se", last_seen_at=None)
    Gateway.objects.create(
        gateway_id="gw2",
        site="nord",
        public_url="https://gw2.example.se",
        standby=True,
        last_seen_at=fake_clock() - timedelta(seconds=2),
    )
    _status, text = scrape()
    values = samples(text)
    primary = (("gateway", "gw1"), ("role", "primary"), ("site", "nord"))
    assert values[("nattillsyn_gateway_heartbeat_age_seconds", primary)] == float("inf")
    standby = (("gateway", "gw2"), ("role", "standby"), ("site", "nord"))
    assert values[("nattillsyn_gateway_heartbeat_age_seconds", standby)] == 2.0
