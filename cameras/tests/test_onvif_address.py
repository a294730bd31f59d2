"""What an installer may type as a camera's ONVIF address."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cameras.onvif import DEFAULT_ONVIF_PORT, parse_address


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("192.168.1.20", ("192.168.1.20", DEFAULT_ONVIF_PORT)),
        (" 192.168.1.20:8080 ", ("192.168.1.20", 8080)),
        ("http://cam.example:8000/onvif/device_service", ("cam.example", 8000)),
        ("https://cam.example/onvif/device_service", ("cam.example", DEFAULT_ONVIF_PORT)),
    ],
)
def test_it_reads_host_and_port(typed: str, expected: tuple[str, int]) -> None:
    assert parse_address(typed) == expected


@pytest.mark.parametrize("typed", ["", "   ", "http://", "rtsp://cam/x", "cam:99999", "cam:port"])
def test_it_refuses_what_is_no_address(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_address(typed)


@given(st.text(max_size=60))
def test_anything_typed_is_an_address_or_a_value_error(typed: str) -> None:
    try:
        host, port = parse_address(typed)
    except ValueError:
        return
    assert host and 0 <= port <= 65535
