"""Fuzz the control plane's machine API (docs/openapi/control-plane.yaml) with
schemathesis: generated valid and invalid requests, with the gateway's token and
without, against the real application on a live server. No request may get a server
error, and every answer must match the description (status, content type, body)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "control-plane.yaml"
schema = schemathesis.openapi.from_path(SPEC)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    yield TALLY


@pytest.fixture
def api_url(live_server: Any) -> str:
    from checks.models import WorkerHeartbeat
    from nattillsyn import clock

    # A worker has reported, so /health answers 200 (its 503 is tested in console's tests).
    WorkerHeartbeat.objects.update_or_create(name="fuzz", defaults={"last_seen": clock.now()})
    return str(live_server.url)


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("with_token", [True, False], ids=["gateway", "anonymous"])
def test_the_machine_api_never_fails_and_answers_as_described(
    case: Any, with_token: bool, api_url: str, headline: Callable[[str, object], None]
) -> None:
    headers = {"Authorization": f"Bearer {settings.GATEWAY_TOKEN}"} if with_token else {}
    TALLY[f"{case.method} {case.path}"] += 1
    TALLY["examples"] += 1
    try:
        case.call_and_validate(base_url=api_url, headers=headers, checks=CHECKS)
    except Exception:
        TALLY["failures"] += 1
        raise
    finally:
        headline("security.api_fuzz_operations", len(list(schema.get_all_operations())))
        headline("security.api_fuzz_examples", TALLY["examples"])
        headline("security.api_fuzz_server_errors", TALLY["failures"])
