"""The demo's identity provider: sso/testidp/idp.mjs with demo staff, so that single
sign-on can be tried in `make run` ("Logga in med Demo-IdP" on the login page).

Demo only: refuses to run with NATTILLSYN_DEMO off. Replaces this process with Node.js,
so a process manager's signals reach it directly.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from nattillsyn.env import env_int
from sso.testing import IDP_DIR, LOA3, idp_config

DEMO_IDP_SLUG = "demo-idp"
DEMO_IDP_SECRET = "nattillsyn-demo-idp-secret"  # demo only, like the demo password
# Groups at the demo provider, and the role each gives in the demo municipality.
DEMO_IDP_GROUPS = {"nattpersonal": "operator", "nattpatrull": "patrol", "arbetsledare": "shift_lead"}


def demo_idp_port() -> int:
    return env_int("DEMO_IDP_PORT", 8556)


def demo_accounts(password: str) -> dict[str, Any]:
    """One demo user per group, logging in with a SITHS-like two-factor login (LoA3)."""
    return {
        f"sso-{group}": {
            "password": password,
            "claims": {"name": f"SSO {group.capitalize()}", "preferred_username": f"sso-{group}", "roles": [group]},
            "acr": LOA3,
            "amr": ["sc", "pin"],
        }
        for group in DEMO_IDP_GROUPS
    }


class Command(BaseCommand):
    help = "Run the demo's OpenID Connect provider (Node.js) for trying single sign-on."

    def handle(self, *args: Any, **options: Any) -> None:
        from accounts.management.commands.seed_demo import DEMO_PASSWORD

        if not settings.DEMO_MODE:
            raise CommandError("the demo identity provider runs only with NATTILLSYN_DEMO on")
        node = shutil.which("node")
        if node is None or not (IDP_DIR / "node_modules" / "oidc-provider").exists():
            raise CommandError("Node.js and the provider's npm packages are needed: run `make deps`")
        port = demo_idp_port()
        callbacks = [f"http://{host}:8000/sso/{DEMO_IDP_SLUG}/callback" for host in ("127.0.0.1", "localhost")]
        config_path = settings.BASE_DIR / "var" / "demo-idp.json"
        config_path.parent.mkdir(exist_ok=True)
        config_path.write_text(
            json.dumps(idp_config(port, DEMO_IDP_SECRET, callbacks, demo_accounts(DEMO_PASSWORD))), encoding="utf-8"
        )
        os.chdir(IDP_DIR)
        os.execv(node, [node, str(IDP_DIR / "idp.mjs"), str(config_path)])
