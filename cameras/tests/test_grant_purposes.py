"""The control plane and the gateway name the same grant purposes (one list: gateway.grants.Purpose)."""

from __future__ import annotations

from cameras.models import GrantPurpose
from gateway.grants import PURPOSES, Purpose


def test_it_has_one_list_of_purposes_for_both_sides() -> None:
    assert GrantPurpose.values == [purpose.value for purpose in Purpose] == list(PURPOSES)


def test_it_labels_every_purpose_for_the_user() -> None:
    for purpose in GrantPurpose:
        assert str(purpose.label) and str(purpose.label) != purpose.value
