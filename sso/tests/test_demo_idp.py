"""The demo's single sign-on (`make run`): seed_demo's provider and mappings, and the
demo provider's users, fit together; the demo provider refuses to run in production."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.demo import DEMO_PASSWORD
from accounts.models import Membership
from sso.demo_idp import DEMO_IDP_SECRET, DEMO_IDP_SLUG, demo_accounts
from sso.models import ExternalIdentity, IdentityProvider
from sso.testing import running_identity_provider

pytestmark = pytest.mark.django_db


def test_a_demo_night_worker_logs_in_with_the_demo_provider(client: Client) -> None:
    call_command("seed_demo", verbosity=0)
    provider = IdentityProvider.objects.get(slug=DEMO_IDP_SLUG)
    callback = f"http://testserver/sso/{DEMO_IDP_SLUG}/callback"
    with running_identity_provider([callback], accounts=demo_accounts(DEMO_PASSWORD), secret=DEMO_IDP_SECRET) as idp:
        provider.issuer = idp.issuer  # the demo's is on port 8556; here a free one
        provider.save()
        start = client.get(f"/sso/{DEMO_IDP_SLUG}/")
        back = idp.log_in(start["Location"], "sso-nattpersonal", DEMO_PASSWORD)
        response = client.get(back.removeprefix("http://testserver"))
    assert response.status_code == 302 and response["Location"] == "/"
    user = ExternalIdentity.objects.get(provider=provider, subject="sso-nattpersonal").user
    assert list(Membership.objects.filter(user=user).values_list("tenant__slug", "role")) == [("demo", "operator")]
    assert client.get("/console/").status_code == 200


def test_the_demo_provider_does_not_run_in_production(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="NATTILLSYN_DEMO"):
        call_command("run_demo_idp")
