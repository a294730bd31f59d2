from __future__ import annotations

from collections.abc import Iterator

import pytest

from sso.testing import RunningIdentityProvider, running_identity_provider

CALLBACK = "http://testserver/sso/kommun/callback"


@pytest.fixture(scope="session")
def idp() -> Iterator[RunningIdentityProvider]:
    """One real OpenID Connect provider (Node.js) for the whole session."""
    with running_identity_provider([CALLBACK]) as provider:
        yield provider
