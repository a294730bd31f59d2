"""The gateway's /metrics: only with the monitoring token; views live, first-frame time,
refusals by code; no camera or grant in any label."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.tests.fakes import WhepClient, make_grant, running_gateway

TOKEN = "gateway-metrics-token"


def values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.usefixtures("undecoded_receiver")
async def test_it_counts_views_first_frames_and_refusals_with_the_token_only() -> None:
    async with running_gateway(metrics_token=TOKEN) as harness, aiohttp.ClientSession() as http:
        client = WhepClient()
        grant = make_grant()
        assert await client.connect(harness.url, grant) == 201
        await harness.control.wait_event("first_frame")
        assert await WhepClient().connect(harness.url, "not-a-grant") == 401
        scrape = await http.get(f"{harness.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scrape.status == 200
        text = await scrape.text()
        found = values(text)
        assert found[("nattillsyn_gateway_views_live", ())] == 1
        assert found[("nattillsyn_gateway_first_frame_seconds_count", ())] == 1
        assert found[("nattillsyn_gateway_views_refused_total", (("code", "grant_invalid"),))] == 1
        assert grant not in text and "cam" not in {v for (_, labels) in found for (_, v) in labels}
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            assert (await http.get(f"{harness.url}/metrics", headers=headers)).status == 404
        await client.close()


async def test_there_is_no_metrics_endpoint_without_a_token() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        assert (await http.get(f"{harness.url}/metrics", headers={"Authorization": "Bearer "})).status == 404
