from __future__ import annotations

from django.test import Client


def test_the_browser_finds_the_icon_at_its_old_address(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.svg")
