"""A camera's sub stream reaches the gateway with the redeem answer, credentials included."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from checks import actions
from checks.engine import NightWorker
from checks.models import Check
from gateway.grants import verify_grant
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


def redeem(client: Client, gid: str) -> dict[str, object]:
    response = client.post(
        "/internal/gateway/redeem",
        data=json.dumps({"gid": gid, "gateway": "gw1"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.GATEWAY_TOKEN}",
    )
    assert response.status_code == 200
    return dict(response.json())


@pytest.mark.parametrize("sub_path", ["", "/cam1/sub"])
def test_the_redeem_answer_names_the_sub_stream_when_the_camera_has_one(
    client: Client, home: Municipality, fake_clock: FakeClock, sub_path: str
) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    camera = person.camera
    camera.sub_stream_url = f"rtsp://127.0.0.1:8554{sub_path}" if sub_path else ""
    camera.save()
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    NightWorker("t").tick(fake_clock())
    check = Check.objects.filter(person=person).order_by("scheduled_at").first()
    _attempt, token = actions.open_check(check, actor=home.user(Role.OPERATOR))
    grant = verify_grant(token, settings.GRANT_KEY.encode(), now=fake_clock().timestamp())
    answer = redeem(client, grant.gid)
    if sub_path:
        assert answer["sub_rtsp_url"] == "rtsp://demo:demo@127.0.0.1:8554/cam1/sub"
    else:
        assert answer["sub_rtsp_url"] == ""
