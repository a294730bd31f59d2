"""The live view gets TURN credentials with its grant, valid until the grant's end only."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from cameras.models import Camera, ViewGrant
from gateway.turn import turn_credentials
from nattillsyn.testing import Municipality, make_training_camera

pytestmark = pytest.mark.django_db


def ice_servers_on(page: str) -> Any:
    found = re.search(r'<script id="live-ice-servers" type="application/json">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


@pytest.fixture
def training_camera(home: Municipality) -> Camera:
    return make_training_camera(home)


def test_the_grant_page_hands_out_turn_credentials_that_end_with_the_grant(
    client: Client, home: Municipality, training_camera: Camera, settings: Any
) -> None:
    settings.TURN_URLS = "turn:turn.example.org:3478?transport=udp turns:turn.example.org:443?transport=tcp"
    settings.TURN_SECRET = "s3cret"
    client.force_login(home.user(Role.OPERATOR))
    page = client.get(client.post(f"/console/training/{training_camera.id}/open")["Location"]).content.decode()
    grant = ViewGrant.objects.get(camera=training_camera)
    username, credential = turn_credentials("s3cret", str(grant.gid), grant.hard_end.timestamp())
    assert ice_servers_on(page) == [
        {
            "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443?transport=tcp"],
            "username": username,
            "credential": credential,
        }
    ]
    assert username.startswith(f"{int(grant.hard_end.timestamp()) + 1}:") or username.startswith(
        f"{int(grant.hard_end.timestamp())}:"
    )


def test_without_turn_the_page_has_no_ice_servers(
    client: Client, home: Municipality, training_camera: Camera, settings: Any
) -> None:
    settings.TURN_URLS = ""
    client.force_login(home.user(Role.OPERATOR))
    page = client.get(client.post(f"/console/training/{training_camera.id}/open")["Location"]).content.decode()
    assert ice_servers_on(page) == []
