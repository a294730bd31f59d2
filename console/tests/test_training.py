from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from cameras.actions import open_training_view, redeem_grant
from cameras.models import Camera
from nattillsyn.clock import FakeClock
from nattillsyn.errors import ActionRefused
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, make_person, make_training_camera

pytestmark = pytest.mark.django_db


@pytest.fixture
def training_camera(home: Municipality) -> Camera:
    return make_training_camera(home)


def test_an_operator_opens_a_training_camera(client: Client, home: Municipality, training_camera: Camera) -> None:
    client.force_login(home.user(Role.OPERATOR))
    assert "training" in client.get("/console/training/").content.decode()
    response = client.post(f"/console/training/{training_camera.id}/open")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'data-token="v1.' in page and settings.GATEWAY_URL in page


def test_a_persons_camera_cannot_be_opened_as_training(home: Municipality, fake_clock: FakeClock) -> None:
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0])
    with pytest.raises(ActionRefused):
        open_training_view(person.camera, actor=home.user(Role.OPERATOR))


def test_a_training_grant_is_refused_if_the_camera_is_given_to_a_person(
    home: Municipality, training_camera: Camera, fake_clock: FakeClock
) -> None:
    grant = open_training_view(training_camera, actor=home.user(Role.OPERATOR))
    person = make_person(home, "Astrid", personnummer=TEST_PERSONNUMMER[0], with_camera=False)
    Camera.objects.filter(id=training_camera.id).update(person=person, training_only=False)
    _grant, refusal = redeem_grant(str(grant.gid), gateway="gw1")
    assert refusal == "not_a_training_camera"
